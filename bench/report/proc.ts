/** Peak RSS of benchmark processes from /proc (Linux). */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

/** A process whose memory counts for one side of a scenario. */
export interface Member {
  readonly role: string;
  readonly pid: number;
}

function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0; // gone
  }
}

/**
 * Resets the peak RSS (VmHWM) of each process to its current RSS (`5` to clear_refs, Linux ≥ 4.0),
 * so the next read is the peak of the measured window, not of the process's life.
 */
export function resetPeaks(members: readonly Member[]): void {
  for (const member of members) {
    try {
      writeFileSync(`/proc/${member.pid}/clear_refs`, '5');
    } catch {
      // not ours or gone: its peak is then the lifetime peak
    }
  }
}

/** Peak RSS since the last reset, MiB per role (processes sharing a role summed). */
export function peakRssMiB(members: readonly Member[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const member of members) {
    const bytes = Math.max(statusField(member.pid, 'VmHWM'), statusField(member.pid, 'VmRSS'));
    out[member.role] = (out[member.role] ?? 0) + bytes / 1048576;
  }
  return out;
}

/** Current RSS, MiB per role. */
export function currentRssMiB(members: readonly Member[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const member of members)
    out[member.role] = (out[member.role] ?? 0) + statusField(member.pid, 'VmRSS') / 1048576;
  return out;
}

/** Direct children of a process. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = children.get(ppid);
      if (siblings) siblings.push(Number(entry));
      else children.set(ppid, [Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}
