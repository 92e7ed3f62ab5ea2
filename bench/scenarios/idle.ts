/**
 * 10,000 idle keep-alive connections: what holding them costs the front, in resident memory.
 *
 * - gatewire: proxy → 1 TS worker (test/fixtures/apps/bench-hello.ts);
 * - nginx: 1 worker → node:http (the reference node-hello.js) on a Unix socket with keep-alive.
 *
 * Per run, two client processes (bench/scenarios/idle-client.ts, COUNT/2 connections each, each
 * from a loopback address of its own) open the connections, send one request on each and keep
 * them idle; once all are answered and idle for a second, the peak RSS of every process (since a
 * reset just before the run) is read, then the clients exit. Primary metric: the front's peak RSS
 * (the gatewire proxy, the nginx worker). Rounds interleave the two sides; every run starts its
 * side afresh, so that memory an earlier run left in a heap does not count.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { currentRssMiB, peakRssMiB, resetPeaks } from '../report/proc.js';
import type { RunSample } from '../report/types.js';
import { freePort } from '../report/ports.js';
import { ROOT, type Stack, startGatewire, startNginx, stopStack } from './stacks.js';

const CLIENT = join(ROOT, 'bench/scenarios/idle-client.ts');
export const NODE_HELLO = '/work/shared/reference-stacks/apps/node-hello.js';

export interface IdleOptions {
  readonly dir: string;
  readonly rounds: number;
  readonly connections: number;
  readonly withNginx: boolean;
  readonly log: (line: string) => void;
}

export type IdleSide = 'gatewire' | 'nginx';

interface ClientReport {
  open: number;
  answered: number;
  failures: number;
}

async function firstLine(child: ChildProcess): Promise<ClientReport> {
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout! as AsyncIterable<string>) {
    out += chunk;
    if (out.includes('\n')) return JSON.parse(out.slice(0, out.indexOf('\n'))) as ClientReport;
  }
  throw new Error(`the idle client exited (${child.exitCode ?? child.signalCode}) before reporting`);
}

async function holdIdle(
  stack: Stack,
  front: string,
  connections: number,
  run: number,
): Promise<{ sample: RunSample; beforeMiB: number }> {
  resetPeaks(stack.members);
  const before = currentRssMiB(stack.members)[front];
  const clients = [0, 1].map((k) =>
    spawn(
      process.execPath,
      ['--import', 'tsx', CLIENT, String(stack.port), String(connections / 2), `127.1.${run}.${k + 1}`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  try {
    const reports = await Promise.all(clients.map(firstLine));
    await new Promise((done) => setTimeout(done, 1000));
    const rssMiB = peakRssMiB(stack.members);
    const open = reports.reduce((sum, r) => sum + r.open, 0);
    const failures = reports.reduce((sum, r) => sum + r.failures, 0);
    const errors =
      open !== connections || failures ? `${open}/${connections} open, ${failures} failed` : undefined;
    return { sample: { value: rssMiB[front], rssMiB, ...(errors ? { errors } : {}) }, beforeMiB: before };
  } finally {
    for (const client of clients) {
      if (client.exitCode === null && client.signalCode === null) {
        client.kill('SIGTERM');
        await once(client, 'exit');
      }
    }
    await new Promise((done) => setTimeout(done, 1000)); // the server sees the closes
  }
}

/** A fresh stack of one side: the run measures what its connections cost, not earlier runs' leftovers. */
async function startSide(name: IdleSide, options: IdleOptions): Promise<{ stack: Stack; front: string }> {
  const dir = mkdtempSync(join(options.dir, `${name}-`));
  if (name === 'gatewire')
    return {
      stack: await startGatewire({
        dir,
        port: await freePort(),
        app: join(ROOT, 'test/fixtures/apps/bench-hello.ts'),
        processes: 1,
      }),
      front: 'proxy',
    };
  return {
    stack: await startNginx({
      dir,
      port: await freePort(),
      app: NODE_HELLO,
      processes: 1,
      workerConnections: options.connections + 2048,
    }),
    front: 'nginx',
  };
}

export async function runIdle(options: IdleOptions): Promise<Map<IdleSide, RunSample[]>> {
  // nginx workers run as `nobody` when the master is root: every directory above a socket must be searchable.
  chmodSync(options.dir, 0o755);
  const sides: IdleSide[] = options.withNginx ? ['gatewire', 'nginx'] : ['gatewire'];
  const results = new Map<IdleSide, RunSample[]>(sides.map((name) => [name, []]));
  let run = 0;
  for (let round = 1; round <= options.rounds; round++) {
    for (const name of sides) {
      const { stack, front } = await startSide(name, options);
      try {
        const { sample, beforeMiB: before } = await holdIdle(stack, front, options.connections, ++run);
        results.get(name)!.push(sample);
        options.log(
          `round ${round} idle ${name}: ${front} peak RSS ${sample.value.toFixed(1)} MiB (${before.toFixed(1)} before, ${(
            ((sample.value - before) * 1024) /
            options.connections
          ).toFixed(1)} KiB per connection)${sample.errors ? ` [${sample.errors}]` : ''}`,
        );
      } finally {
        await stopStack(stack);
      }
    }
  }
  return results;
}
