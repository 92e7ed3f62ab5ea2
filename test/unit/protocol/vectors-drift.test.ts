import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderVectorFiles } from '../../../protocol/scripts/vector-files.js';
import { VECTORS_DIR } from './vector-files.js';

describe('vectors: drift check', () => {
  const generated = renderVectorFiles();

  it.each([...generated.keys()])('%s is what the codec generates now', (name) => {
    // On failure: run `npx tsx protocol/scripts/generate-vectors.ts` and review the diff.
    expect(readFileSync(VECTORS_DIR + name, 'utf8') === generated.get(name)).toBe(true);
  });

  it('holds no stray JSON file the generator does not write', () => {
    const committed = readdirSync(VECTORS_DIR).filter((name) => name.endsWith('.json'));
    expect(committed.sort()).toEqual([...generated.keys()].sort());
  });
});
