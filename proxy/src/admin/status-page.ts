/**
 * The live status page: one HTML document, no build step, no external assets. It polls
 * /status.json every second and draws the workers as a table and the last minute of request
 * rate, error rate and latency percentiles as small canvas charts.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gatewire status</title>
<style>
  :root { color-scheme: light dark; --fg: #1d2430; --muted: #667085; --line: #d0d5dd; --bg: #fff; --card: #f7f8fa;
          --ok: #12805c; --warn: #b54708; --bad: #c01048; --accent: #2e62d9; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e4e7ec; --muted: #98a2b3; --line: #344054; --bg: #101828; --card: #1d2939; } }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; padding: 16px 24px; color: var(--fg); background: var(--bg); }
  h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 8px; }
  .muted { color: var(--muted); }
  .tiles { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 12px; }
  .tile { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
  .tile b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
  .charts { display: flex; flex-wrap: wrap; gap: 12px; }
  figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
  figcaption { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
  figcaption span { font-variant-numeric: tabular-nums; color: var(--fg); }
  canvas { display: block; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  #workers th:nth-child(-n+3), #workers td:nth-child(-n+3), #routes th:first-child, #routes td:first-child { text-align: left; }
  .state-ready { color: var(--ok); } .state-connecting, .state-draining { color: var(--warn); } .state-ejected { color: var(--bad); }
  #error { color: var(--bad); }
</style>
</head>
<body>
<h1>gatewire</h1>
<div class="muted">proxy pid <span id="pid">–</span>, up <span id="uptime">–</span>, updated <span id="updated">–</span> <span id="error"></span></div>
<div class="tiles">
  <div class="tile"><span class="muted">requests</span><b id="total-requests">–</b></div>
  <div class="tile"><span class="muted">5xx</span><b id="total-errors">–</b></div>
  <div class="tile"><span class="muted">in flight</span><b id="in-flight">–</b></div>
  <div class="tile"><span class="muted">queued</span><b id="queued">–</b></div>
  <div class="tile"><span class="muted">bytes in / out</span><b id="bytes">–</b></div>
</div>
<h2>Last minute</h2>
<div class="charts">
  <figure><figcaption>requests/s <span id="rate-now">–</span></figcaption><canvas id="chart-rate" width="300" height="90"></canvas></figure>
  <figure><figcaption>5xx/s <span id="errors-now">–</span></figcaption><canvas id="chart-errors" width="300" height="90"></canvas></figure>
  <figure><figcaption>latency ms p50 / p90 / p99 <span id="latency-now">–</span></figcaption><canvas id="chart-latency" width="300" height="90"></canvas></figure>
</div>
<h2>Workers</h2>
<table id="workers">
  <thead><tr><th>group</th><th>worker</th><th>state</th><th>pid</th><th>in flight</th><th>capacity</th><th>ok</th><th>failed</th>
  <th>restarts</th><th>rss MB</th><th>heap MB</th><th>loop lag ms</th><th>served</th><th>ping ms</th></tr></thead>
  <tbody></tbody>
</table>
<h2>Routes</h2>
<table id="routes">
  <thead><tr><th>route</th><th>requests</th><th>5xx</th><th>bytes in</th><th>bytes out</th></tr></thead>
  <tbody></tbody>
</table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (value, digits = 0) => value === null || value === undefined ? "–" : Number(value).toLocaleString("en", { maximumFractionDigits: digits });
const mb = (bytes) => bytes === null ? "–" : (bytes / 1048576).toFixed(1);
function bytes(value) {
  const units = ["B", "kB", "MB", "GB", "TB"]; let i = 0;
  while (value >= 1000 && i < units.length - 1) { value /= 1000; i++; }
  return value.toFixed(i === 0 ? 0 : 1) + " " + units[i];
}
function duration(seconds) {
  if (seconds < 120) return seconds + " s";
  if (seconds < 7200) return Math.round(seconds / 60) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}
function cell(row, text, className) {
  const td = document.createElement("td"); td.textContent = text; if (className) td.className = className; row.appendChild(td);
}
function chart(canvas, series, colors) {
  const ctx = canvas.getContext("2d"); const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  let max = 0; for (const s of series) for (const v of s) if (v !== null && v > max) max = v;
  max = max <= 0 ? 1 : max * 1.15;
  ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--line"); ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5); ctx.stroke();
  ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--muted"); ctx.font = "10px system-ui";
  ctx.fillText(fmt(max, max < 10 ? 1 : 0), 2, 10);
  series.forEach((points, index) => {
    ctx.strokeStyle = colors[index]; ctx.lineWidth = 1.5; ctx.beginPath();
    let started = false; const step = w / 59;
    points.forEach((v, i) => {
      if (v === null) { started = false; return; }
      const x = (60 - points.length + i) * step, y = h - 1 - (v / max) * (h - 12);
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    });
    ctx.stroke();
  });
}
function render(status) {
  $("pid").textContent = status.proxy.pid;
  $("uptime").textContent = duration(status.proxy.uptimeS);
  $("updated").textContent = new Date(status.time).toLocaleTimeString();
  $("total-requests").textContent = fmt(status.totals.requests);
  $("total-errors").textContent = fmt(status.totals.errors);
  $("in-flight").textContent = fmt(status.proxy.inFlight);
  $("queued").textContent = fmt(status.proxy.queued);
  $("bytes").textContent = bytes(status.totals.bytesIn) + " / " + bytes(status.totals.bytesOut);
  const series = status.series; const last = series[series.length - 1];
  $("rate-now").textContent = last ? fmt(last.requests) : "–";
  $("errors-now").textContent = last ? fmt(last.errors) : "–";
  $("latency-now").textContent = last && last.p50Ms !== null ? [last.p50Ms, last.p90Ms, last.p99Ms].map((v) => fmt(v, 2)).join(" / ") : "–";
  chart($("chart-rate"), [series.map((s) => s.requests)], ["#2e62d9"]);
  chart($("chart-errors"), [series.map((s) => s.errors)], ["#c01048"]);
  chart($("chart-latency"), [series.map((s) => s.p50Ms), series.map((s) => s.p90Ms), series.map((s) => s.p99Ms)], ["#12805c", "#b54708", "#c01048"]);
  const workers = document.querySelector("#workers tbody"); workers.replaceChildren();
  for (const w of status.workers) {
    const row = document.createElement("tr"); row.dataset.worker = w.worker; row.dataset.state = w.state;
    cell(row, w.group); cell(row, w.worker); cell(row, w.state, "state-" + w.state); cell(row, w.pid ?? "–");
    cell(row, fmt(w.inFlight)); cell(row, fmt(w.capacity)); cell(row, fmt(w.requestsSucceeded)); cell(row, fmt(w.requestsFailed));
    cell(row, fmt(w.restarts)); cell(row, mb(w.rssBytes)); cell(row, mb(w.heapUsedBytes)); cell(row, fmt(w.loopLagMs, 1));
    cell(row, fmt(w.requestsServed)); cell(row, fmt(w.pingRttMs, 2));
    workers.appendChild(row);
  }
  const routes = document.querySelector("#routes tbody"); routes.replaceChildren();
  for (const r of status.routes) {
    const row = document.createElement("tr"); row.dataset.route = r.route;
    cell(row, r.route); cell(row, fmt(r.requests)); cell(row, fmt(r.errors));
    cell(row, bytes(r.bytesIn)); cell(row, bytes(r.bytesOut));
    routes.appendChild(row);
  }
}
async function poll() {
  try {
    const response = await fetch("status.json", { cache: "no-store" });
    if (!response.ok) throw new Error("status.json: " + response.status);
    render(await response.json());
    $("error").textContent = "";
  } catch (error) {
    $("error").textContent = String(error.message || error);
  } finally {
    setTimeout(poll, 1000);
  }
}
poll();
</script>
</body>
</html>
`;
