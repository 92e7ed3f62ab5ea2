/**
 * Writes protocol/vectors/*.json from the codec: `npx tsx protocol/scripts/generate-vectors.ts`.
 * With `--check`, writes nothing and exits 1 if a committed file differs (the test suite runs the
 * same comparison: test/unit/protocol/vectors-drift.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderVectorFiles } from './vector-files.js';

const dir = fileURLToPath(new URL('../vectors/', import.meta.url));
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, content] of renderVectorFiles()) {
  const path = dir + name;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  stale++;
  if (check) console.error(`${name}: differs from what the codec generates now`);
  else {
    writeFileSync(path, content);
    console.log(`wrote ${name} (${content.length} bytes)`);
  }
}
if (check && stale > 0) process.exitCode = 1;
else if (stale === 0) console.log('vectors are up to date');
