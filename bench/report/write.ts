/** Writes a report: the page, one SVG chart per group next to it, and the raw results. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chartPath, keptIntro, renderMarkdown } from './markdown.js';
import { renderGroupChart } from './svg.js';
import type { BenchReport } from './types.js';

/**
 * `out` (e.g. docs/benchmarks.md) keeps the introduction of the page it replaces; charts go to
 * `benchmarks/<group>.svg` next to it, the report itself to `benchmarks/results.json` (input of
 * `bench/run.ts --render`).
 */
export function writeReport(report: BenchReport, out: string): void {
  const chartsDir = join(dirname(out), 'benchmarks');
  mkdirSync(chartsDir, { recursive: true });
  const intro = keptIntro(existsSync(out) ? readFileSync(out, 'utf8') : null);
  writeFileSync(out, renderMarkdown(report, intro));
  for (const group of report.groups) {
    const scenarios = report.scenarios.filter((scenario) => scenario.group === group.id);
    if (scenarios.length === 0) continue;
    writeFileSync(join(dirname(out), chartPath(group.id)), renderGroupChart(group.title, scenarios));
  }
  writeFileSync(join(chartsDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
}
