import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory (short path: Unix socket paths are limited to ~107 bytes). */
export function freshTempDir(label = 'gw'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `gatewire-worker-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
