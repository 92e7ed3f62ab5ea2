/**
 * One SVG chart per group, written as a plain string (no chart library): two panels side by side,
 * the primary metric (throughput, or RSS where that is the point) on the left and p99 latency on
 * the right (peak RSS of all processes of a side when the group measures no latency). One cluster
 * of bars per scenario, one bar per side (the median over rounds), the value printed above it.
 */
import { escapeXml, formatValue } from './format.js';
import { median } from './stats.js';
import type { ScenarioResult, SideResult } from './types.js';

const WIDTH = 980;
const PANEL_WIDTH = 470;
const HEIGHT = 340;
const PLOT_TOP = 58;
const PLOT_HEIGHT = 200;
const AXIS_LEFT = 56;
const GATEWIRE_COLORS = ['#1b7f6b', '#5fbfa8'];
const REFERENCE_COLORS = ['#d9691e', '#7a6fb0', '#8c8c8c', '#c4a000'];

interface Panel {
  readonly title: string;
  readonly unit: string;
  /** Per scenario, per side id: the bar's value (missing: the side did not run). */
  readonly values: ReadonlyArray<ReadonlyMap<string, number>>;
}

/** A round number ≥ value for the axis: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function totalRss(side: SideResult): number {
  return median(side.runs.map((run) => Object.values(run.rssMiB).reduce((sum, mib) => sum + mib, 0)));
}

function sidesOf(scenarios: readonly ScenarioResult[]): Array<{ id: string; label: string; color: string }> {
  const seen = new Map<string, { id: string; label: string; color: string }>();
  let gatewire = 0;
  let reference = 0;
  for (const scenario of scenarios) {
    for (const side of scenario.sides) {
      if (seen.has(side.id)) continue;
      const color =
        side.kind === 'gatewire'
          ? GATEWIRE_COLORS[gatewire++ % GATEWIRE_COLORS.length]
          : REFERENCE_COLORS[reference++ % REFERENCE_COLORS.length];
      seen.set(side.id, { id: side.id, label: side.label, color });
    }
  }
  return [...seen.values()];
}

function panels(scenarios: readonly ScenarioResult[]): [Panel, Panel] {
  const primary = scenarios[0].metric;
  const sameUnit = scenarios.every((s) => s.metric.unit === primary.unit);
  const left: Panel = {
    title: sameUnit ? `${primary.name} (${primary.unit}, median)` : 'primary metric (median)',
    unit: sameUnit ? primary.unit : '',
    values: scenarios.map(
      (scenario) =>
        new Map(
          scenario.sides
            .filter((side) => side.runs.length > 0)
            .map((side) => [side.id, median(side.runs.map((run) => run.value))]),
        ),
    ),
  };
  const hasLatency = scenarios.some((s) =>
    s.sides.some((side) => side.runs.some((r) => r.p99Ms !== undefined)),
  );
  const right: Panel = hasLatency
    ? {
        title: 'p99 latency (ms, median)',
        unit: 'ms',
        values: scenarios.map(
          (scenario) =>
            new Map(
              scenario.sides
                .filter((side) => side.runs.some((run) => run.p99Ms !== undefined))
                .map((side) => [side.id, median(side.runs.map((run) => run.p99Ms ?? Number.NaN))]),
            ),
        ),
      }
    : {
        title: 'peak RSS, all processes of a side (MiB, median)',
        unit: 'MiB',
        values: scenarios.map(
          (scenario) =>
            new Map(
              scenario.sides.filter((side) => side.runs.length > 0).map((side) => [side.id, totalRss(side)]),
            ),
        ),
      };
  return [left, right];
}

function renderPanel(
  panel: Panel,
  x0: number,
  categories: readonly string[],
  sides: ReadonlyArray<{ id: string; color: string }>,
): string {
  const parts: string[] = [];
  const all = panel.values.flatMap((map) => [...map.values()]).filter(Number.isFinite);
  const top = niceMax(Math.max(0, ...all));
  const plotLeft = x0 + AXIS_LEFT;
  const plotWidth = PANEL_WIDTH - AXIS_LEFT - 10;
  const bottom = PLOT_TOP + PLOT_HEIGHT;
  parts.push(
    `<text x="${x0 + PANEL_WIDTH / 2}" y="40" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  for (let tick = 0; tick <= 4; tick++) {
    const value = (top * tick) / 4;
    const y = bottom - (PLOT_HEIGHT * tick) / 4;
    parts.push(
      `<line x1="${plotLeft}" y1="${y}" x2="${plotLeft + plotWidth}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${plotLeft - 4}" y="${y + 4}" text-anchor="end" font-size="10">${formatValue(value)}</text>`,
    );
  }
  const clusterWidth = plotWidth / Math.max(1, categories.length);
  const barWidth = Math.min(40, (clusterWidth * 0.8) / Math.max(1, sides.length));
  categories.forEach((category, c) => {
    const clusterLeft = plotLeft + c * clusterWidth + (clusterWidth - barWidth * sides.length) / 2;
    sides.forEach((side, s) => {
      const value = panel.values[c].get(side.id);
      if (value === undefined || !Number.isFinite(value)) return;
      const height = (PLOT_HEIGHT * value) / top;
      const x = clusterLeft + s * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(bottom - height).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${height.toFixed(1)}" fill="${side.color}"><title>${escapeXml(`${category}, ${side.id}: ${formatValue(value)} ${panel.unit}`)}</title></rect>`,
        `<text x="${(x + (barWidth - 2) / 2).toFixed(1)}" y="${(bottom - height - 3).toFixed(1)}" text-anchor="middle" font-size="9">${formatValue(value)}</text>`,
      );
    });
    // A title such as `hello, 64 connections` on two lines: `hello,` / `64 connections`.
    const center = (plotLeft + c * clusterWidth + clusterWidth / 2).toFixed(1);
    const lines = category.split(/(?<=,) /);
    parts.push(
      `<text x="${center}" y="${bottom + 15}" text-anchor="middle" font-size="11">${lines
        .map((line, i) => `<tspan x="${center}" dy="${i === 0 ? 0 : 13}">${escapeXml(line)}</tspan>`)
        .join('')}</text>`,
    );
  });
  parts.push(
    `<line x1="${plotLeft}" y1="${bottom}" x2="${plotLeft + plotWidth}" y2="${bottom}" stroke="#333"/>`,
  );
  return parts.join('\n');
}

/** The chart of one group's scenarios (in order), as a standalone SVG document. */
export function renderGroupChart(title: string, scenarios: readonly ScenarioResult[]): string {
  const measured = scenarios.filter((scenario) => scenario.sides.some((side) => side.runs.length > 0));
  const categories = measured.map((scenario) => scenario.title);
  const sides = sidesOf(measured);
  const body: string[] = [];
  if (measured.length === 0) {
    body.push(
      `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" font-size="13">no results</text>`,
    );
  } else {
    const [left, right] = panels(measured);
    body.push(
      renderPanel(left, 10, categories, sides),
      renderPanel(right, 10 + PANEL_WIDTH + 20, categories, sides),
    );
  }
  const legendY = PLOT_TOP + PLOT_HEIGHT + 56;
  sides.forEach((side, i) => {
    const column = i % 3;
    const row = Math.floor(i / 3);
    const x = 20 + column * 320;
    const y = legendY + row * 18;
    body.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${side.color}"/>`,
      `<text x="${x + 18}" y="${y}" font-size="11">${escapeXml(side.label)}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
