/**
 * What the reference sides need, checked before anything runs. Nothing is installed: a missing
 * piece is named with the command that installs it, and only the sides that need it are skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const NODE_HELLO = '/work/shared/reference-stacks/apps/node-hello.js';

export interface Availability {
  readonly nginx: boolean;
  readonly wrk: boolean;
  readonly curl: boolean;
  /** The reference node:http hello app (reference-stacks/apps/node-hello.js). */
  readonly nodeHello: boolean;
  /** Everything missing, each with how to get it. */
  readonly missing: string[];
}

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined;
}

export function checkTools(): Availability {
  const missing: string[] = [];
  const nginx = runs('nginx', ['-v']);
  if (!nginx)
    missing.push('nginx is not installed (every nginx reference side is skipped): `apt-get install nginx`');
  const wrk = runs('wrk', ['--version']);
  if (!wrk)
    missing.push(
      'wrk is not installed (the load generator of the hello, 100 KiB and Django scenarios; they are skipped): `apt-get install wrk`',
    );
  const curl = runs('curl', ['--version']);
  if (!curl)
    missing.push(
      'curl is not installed (readiness checks and the transfer client; nothing can run): `apt-get install curl`',
    );
  const nodeHello = existsSync(NODE_HELLO);
  if (!nodeHello)
    missing.push(
      `${NODE_HELLO} is missing (the node:http reference app of the hello, 100 KiB and idle scenarios; those reference sides are skipped)`,
    );
  return { nginx, wrk, curl, nodeHello, missing };
}
