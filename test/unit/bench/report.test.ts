/**
 * The benchmark report generator (bench/report/): a fixed result object in, the markdown page and
 * the SVG charts out. Pure and fast: no benchmark runs here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  INTRO_END,
  INTRO_START,
  headlines,
  keptIntro,
  renderMarkdown,
} from '../../../bench/report/markdown.js';
import { median, roundRatios } from '../../../bench/report/stats.js';
import { niceMax, renderGroupChart } from '../../../bench/report/svg.js';
import type { BenchReport, RunSample } from '../../../bench/report/types.js';
import { writeReport } from '../../../bench/report/write.js';

const runs = (values: number[], p99: number[] | null, rss: Record<string, number>): RunSample[] =>
  values.map((value, i) => ({
    value,
    ...(p99 === null ? {} : { p50Ms: p99[i] / 4, p99Ms: p99[i] }),
    rssMiB: rss,
  }));

const REPORT: BenchReport = {
  startedAt: '2026-11-25T03:00:00Z',
  durationSeconds: 612.4,
  command: 'npm run bench',
  quick: false,
  rounds: 3,
  machine: {
    cores: 2,
    cpuModel: 'Test CPU',
    memoryGiB: 23.5,
    kernel: '6.1.0',
    versions: { node: 'v20.20.2', nginx: '1.22.1' },
    loadBefore: '0.10 0.20 0.30',
    loadAfter: '1.00 1.10 1.20',
  },
  missing: ['uWSGI is not installed for python3: python3 -m pip install -r bench/django/requirements.txt'],
  groups: [
    { id: 'http', title: 'Hello & friends', description: 'wrk against each side.' },
    { id: 'idle', title: 'Idle connections', description: 'Idle keep-alive connections.' },
  ],
  scenarios: [
    {
      id: 'hello-c64',
      group: 'http',
      title: 'hello, 64 connections',
      description: 'wrk -t1 -c64.',
      metric: { name: 'throughput', unit: 'req/s', better: 'higher' },
      sides: [
        {
          id: 'gatewire',
          label: 'gatewire → TS worker',
          kind: 'gatewire',
          processes: 'proxy + 1 TS worker',
          runs: runs([30_000, 28_000, 32_000], [4, 5, 6], { proxy: 80, worker: 60 }),
        },
        {
          id: 'nginx',
          label: 'nginx → node:http',
          kind: 'reference',
          processes: 'nginx (1 worker) + 1 node:http',
          runs: runs([20_000, 20_000, 20_000], [3, 3, 4], { nginx: 6, node: 50 }),
        },
        {
          id: 'node',
          label: 'bare node:http',
          kind: 'reference',
          processes: '1 node:http',
          runs: [],
          skipped: 'the reference node-hello.js is missing',
        },
      ],
    },
    {
      id: 'idle',
      group: 'idle',
      title: '10,000 idle connections',
      description: 'Held idle.',
      metric: { name: 'peak RSS of the front', unit: 'MiB', better: 'lower' },
      sides: [
        {
          id: 'gatewire',
          label: 'gatewire proxy',
          kind: 'gatewire',
          processes: 'proxy + 1 TS worker',
          runs: runs([120, 130], null, { proxy: 125, worker: 60 }),
        },
        {
          id: 'nginx',
          label: 'nginx worker',
          kind: 'reference',
          processes: 'nginx (1 worker) + 1 node:http',
          runs: runs([40, 50], null, { nginx: 45, node: 50 }),
        },
      ],
    },
  ],
};

describe('bench report statistics', () => {
  it('takes medians and per-round ratios', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(roundRatios([30, 28, 32], [20, 20, 20])).toEqual({ median: 1.5, min: 1.4, max: 1.6 });
    expect(roundRatios([1, 2], [])).toBeNull();
  });

  it('rounds chart axes up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(32_000)).toBe(50_000);
    expect(niceMax(130)).toBe(200);
    expect(niceMax(0.7)).toBe(1);
    expect(niceMax(0)).toBe(1);
  });
});

describe('bench report markdown', () => {
  const page = renderMarkdown(REPORT, '# Benchmarks\n\nHand-written words.');
  const lines = page.split('\n');

  it('keeps the intro, describes the machine and names the missing references', () => {
    expect(page.startsWith(`${INTRO_START}\n# Benchmarks\n\nHand-written words.\n${INTRO_END}\n`)).toBe(true);
    expect(page).toContain('- 2 cores (Test CPU), 23.5 GiB memory, Linux 6.1.0');
    expect(page).toContain('- node v20.20.2, nginx 1.22.1');
    expect(page).toContain('3 interleaved round(s) per scenario');
    expect(page).toContain(`- ${REPORT.missing[0]}`);
  });

  it('writes one table row per side with median (min–max), p50/p99, RSS and the ratio per round', () => {
    expect(lines).toContain(
      '| hello, 64 connections | gatewire → TS worker | proxy + 1 TS worker | 30,000 (28,000–32,000) | 1.25 | 5.00 (4.00–6.00) | proxy 80, worker 60 | vs nginx: 1.50x (1.40x–1.60x) |',
    );
    expect(lines).toContain(
      '| hello, 64 connections | nginx → node:http | nginx (1 worker) + 1 node:http | 20,000 | 0.75 | 3.00 (3.00–4.00) | nginx 6, node 50 |  |',
    );
    expect(lines).toContain(
      '| hello, 64 connections | bare node:http | 1 node:http | not run: the reference node-hello.js is missing | | | | |',
    );
    expect(lines).toContain(
      '| 10,000 idle connections | gatewire proxy | proxy + 1 TS worker | 125 (120–130) |  |  | proxy 125, worker 60 | vs nginx: 2.80x (2.60x–3.00x) |',
    );
    const header = lines.findIndex((line) => line.startsWith('| scenario | side |'));
    expect(lines[header + 1]).toBe('|---|---|---|---|---|---|---|---|');
  });

  it('shows a scenario that failed as a whole, with its error', () => {
    const failed = renderMarkdown(
      {
        ...REPORT,
        scenarios: [{ ...REPORT.scenarios[1], sides: [], error: 'gatewire did not answer | twice' }],
      },
      'intro',
    );
    expect(failed).toContain(
      '| 10,000 idle connections | | | failed: gatewire did not answer \\| twice | | | | |',
    );
    expect(failed).toContain('**Failed:** gatewire did not answer | twice');
  });

  it('links each group chart and states the headline ratios', () => {
    expect(page).toContain(
      '## Hello & friends\n\nwrk against each side.\n\n![Hello & friends](benchmarks/http.svg)',
    );
    expect(page).toContain('![Idle connections](benchmarks/idle.svg)');
    expect(headlines(REPORT)).toEqual([
      'hello, 64 connections (throughput): gatewire 1.50x of nginx → node:http (1.40x–1.60x).',
      '10,000 idle connections (peak RSS of the front, lower is better): gatewire 2.80x of nginx worker (2.60x–3.00x).',
    ]);
  });

  it('keeps the intro of an existing page, or starts with the default one', () => {
    expect(keptIntro(`${INTRO_START}\nmine\n${INTRO_END}\nold generated text`)).toBe('mine');
    expect(keptIntro(null)).toMatch(/^# Benchmarks/);
  });
});

describe('bench report charts', () => {
  const svg = renderGroupChart('Hello & friends', REPORT.scenarios.slice(0, 1));

  it('is one SVG document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('>Hello &amp; friends</text>');
    expect(svg).not.toContain('Hello & friends');
  });

  it('draws a throughput bar and a p99 bar per side that ran, to scale', () => {
    const bars = [
      ...svg.matchAll(
        /<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#[0-9a-f]{6}"><title>([^<]*)<\/title>/g,
      ),
    ];
    expect(bars.map((bar) => bar[3])).toEqual([
      'hello, 64 connections, gatewire: 30,000 req/s',
      'hello, 64 connections, nginx: 20,000 req/s',
      'hello, 64 connections, gatewire: 5.00 ms',
      'hello, 64 connections, nginx: 3.00 ms',
    ]);
    // Axis maxima 50,000 req/s and 5 ms over a 200-pixel plot.
    expect(bars.map((bar) => Number(bar[2]))).toEqual([120, 80, 200, 120]);
    expect(svg).toContain('<tspan x="');
    expect(svg).toContain('>64 connections</tspan>');
  });

  it('charts peak RSS on the right when a group measures no latency', () => {
    const idle = renderGroupChart('Idle', REPORT.scenarios.slice(1));
    expect(idle).toContain('peak RSS, all processes of a side (MiB, median)');
    expect(idle).toContain('10,000 idle connections, gatewire: 185 MiB');
  });
});

describe('writeReport', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the page, a chart per group and the raw results, keeping the page intro', () => {
    dir = mkdtempSync(join(tmpdir(), 'gatewire-bench-report-'));
    const out = join(dir, 'benchmarks.md');
    writeFileSync(out, `${INTRO_START}\nKept intro.\n${INTRO_END}\nstale`);
    writeReport(REPORT, out);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('Kept intro.');
    expect(page).not.toContain('stale');
    expect(readFileSync(join(dir, 'benchmarks/http.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(dir, 'benchmarks/idle.svg'), 'utf8')).toContain('<svg');
    expect(JSON.parse(readFileSync(join(dir, 'benchmarks/results.json'), 'utf8'))).toEqual(REPORT);
  });
});
