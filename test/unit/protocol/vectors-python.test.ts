import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VECTORS_DIR, framesFile, sequencesFile } from './vector-files.js';

const SCRIPT = fileURLToPath(new URL('./check_vectors.py', import.meta.url));

interface PythonReport {
  checked: number;
  msgpack: number[];
  failures: string[];
}

/** Python's msgpack must read every payload the TypeScript codec writes, and write it back identically. */
describe('vectors: cross-check with Python msgpack', () => {
  it('decodes every valid msgpack payload and re-encodes canonical ones byte for byte', () => {
    const probe = spawnSync('python3', ['-c', 'import msgpack'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `this check needs python3 with the msgpack package (pip install msgpack): ${probe.error?.message ?? probe.stderr}`,
      );
    }
    const run = spawnSync('python3', [SCRIPT, VECTORS_DIR], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as PythonReport;
    expect(report.failures).toEqual([]);
    // Every structured frame of frames.json was seen, plus sequence frames: nothing silently skipped.
    const structured = framesFile.vectors.filter(
      (v) => !['DATA', 'PING', 'PONG', 'WINDOW'].includes(v.frame.type),
    ).length;
    expect(structured).toBeGreaterThan(30);
    expect(report.checked).toBeGreaterThan(structured + sequencesFile.sequences.length);
  });
});
