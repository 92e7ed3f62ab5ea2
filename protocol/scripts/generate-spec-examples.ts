/**
 * Rewrites the worked examples of SPEC §17 from the codec:
 * `npx tsx protocol/scripts/generate-spec-examples.ts` (add `--check` to only compare).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withExamples } from './spec-examples.js';

const path = fileURLToPath(new URL('../SPEC.md', import.meta.url));
const spec = readFileSync(path, 'utf8');
const updated = withExamples(spec);
if (updated === spec) console.log('SPEC §17 examples are up to date');
else if (process.argv.includes('--check')) {
  console.error('SPEC §17 examples differ from what the codec produces now');
  process.exitCode = 1;
} else {
  writeFileSync(path, updated);
  console.log('rewrote the SPEC §17 examples');
}
