import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * Stops a stack's processes in order (the front first: it drains, then its upstreams): SIGTERM,
 * then SIGKILL for one still running after `graceMs`.
 */
export async function stopChildren(children: readonly ChildProcess[], graceMs = 10_000): Promise<void> {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await once(child, 'exit');
    clearTimeout(timer);
  }
}
