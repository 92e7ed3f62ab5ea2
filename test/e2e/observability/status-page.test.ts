/**
 * The live status page in headless Chromium (Debian's chromium through playwright-core): it loads
 * from the admin listener, shows one row per worker, and its numbers and charts change while
 * traffic flows. The screenshot is saved to test/e2e/observability/artifacts/status-page.png
 * (gitignored).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../integration/worker/support/worker-harness.js';
import { ObsStack } from './obs-stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test/e2e/observability/artifacts');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('/status in Chromium', () => {
  let stack: ObsStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await ObsStack.start({ worker: 'ts', processes: 3 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows every worker, and its numbers change while traffic flows', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${stack.adminPort}/status`);
    await page.waitForFunction(() => document.querySelectorAll('#workers tbody tr').length === 3);

    const status = await stack.status();
    const rows = await page.$$eval('#workers tbody tr', (trs) =>
      trs.map((tr) => ({
        worker: (tr as HTMLElement).dataset.worker,
        state: (tr as HTMLElement).dataset.state,
        pid: tr.children[3].textContent,
      })),
    );
    expect(rows.map((row) => row.worker).sort()).toEqual(
      status.workers.map((worker) => worker.worker).sort(),
    );
    expect(rows.every((row) => row.state === 'ready')).toBe(true);
    expect(rows.map((row) => Number(row.pid)).sort()).toEqual(
      status.workers.map((worker) => worker.pid).sort(),
    );
    const before = Number((await page.locator('#total-requests').innerText()).replace(/,/g, ''));
    expect(before).toBe(0);

    // Traffic for a few seconds (bounded in count and time), while the page polls.
    const deadline = Date.now() + 4000;
    let sent = 0;
    while (Date.now() < deadline && sent < 2000) {
      await Promise.all([
        stack.raw('GET', '/obs/ok'),
        stack.raw('GET', '/obs/missing'),
        stack.raw('GET', '/obs/ok'),
      ]);
      sent += 3;
    }
    await page.waitForFunction(
      (expected) =>
        Number(document.getElementById('total-requests')!.textContent!.replace(/,/g, '')) === expected,
      sent,
      { timeout: 10_000 },
    );
    // The per-second charts saw the traffic: the latest completed second had requests and latencies.
    await page.waitForFunction(
      () => Number(document.getElementById('rate-now')!.textContent!.replace(/,/g, '')) > 0,
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await page.locator('#latency-now').innerText()).toMatch(/^[\d.]+ \/ [\d.]+ \/ [\d.]+$/);
    const served = await page.$$eval('#workers tbody tr', (trs) =>
      trs.map((tr) => Number(tr.children[6].textContent!.replace(/,/g, ''))),
    );
    expect(served.reduce((total, value) => total + value, 0)).toBe(sent);
    // The rate chart has drawn something besides its axis: some non-background pixel in its upper part.
    const drawn = await page.$eval('#chart-rate', (canvas) => {
      const context = (canvas as HTMLCanvasElement).getContext('2d')!;
      const { data } = context.getImageData(0, 12, 300, 60);
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
      return false;
    });
    expect(drawn).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
