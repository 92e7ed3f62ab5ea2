/** The machine and the versions of everything a benchmark run compares. */
import { spawnSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { readFileSync } from 'node:fs';
import type { MachineInfo } from './types.js';

function output(command: string, args: string[], stream: 'stdout' | 'stderr' = 'stdout'): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return result[stream].trim();
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
}

export function machineInfo(python: string, uwsgi: string | null, loadBefore: string): MachineInfo {
  const memTotalKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'latin1'))?.[1] ?? 0);
  const versions: Record<string, string> = { node: process.version };
  const nginx = output('nginx', ['-v'], 'stderr');
  if (nginx !== null) versions.nginx = nginx.replace(/^nginx version: nginx\//, '');
  const wrk =
    output('wrk', ['-v'])?.split('\n')[0] ??
    spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout?.split('\n')[0];
  if (wrk) versions.wrk = wrk.replace(/^wrk /, '').split(' ')[0];
  const curl = output('curl', ['--version']);
  if (curl !== null) versions.curl = curl.split(' ')[1];
  const py = output(python, ['-c', 'import sys; print(sys.version.split()[0])']);
  if (py !== null) versions.Python = py;
  const django = output(python, ['-c', 'import django; print(django.get_version())']);
  if (django !== null) versions.Django = django;
  if (uwsgi !== null) {
    const version = output(uwsgi, ['--version']);
    if (version !== null) versions.uWSGI = version;
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: memTotalKiB / 1048576,
    kernel: release(),
    versions,
    loadBefore,
    loadAfter: loadBefore,
  };
}
