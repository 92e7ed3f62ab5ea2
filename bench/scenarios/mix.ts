/**
 * Mixed latency: 5% of requests hold their app process for 200 ms (a blocking sleep); how long do
 * the other 95% wait? Shows whether the front sends fast requests to a process that is busy.
 *
 * - gatewire: proxy → TS worker supervisor with PROCESSES processes (bench/apps/slow-app.ts); the
 *   proxy picks, per request, the worker with the fewest requests in flight (relative to its
 *   max_streams);
 * - nginx: 1 worker → PROCESSES node:http processes (bench/apps/slow-node.mjs) on Unix sockets with
 *   upstream keep-alive, nginx's default round robin (what an `upstream` block without a balancer
 *   directive does; `least_conn` would count connections, not requests in flight).
 *
 * The load is open loop (bench/scenarios/mix-client.ts): RATE requests/s over 64 connections, the
 * slow ones at fixed pseudo-random positions. Primary metric: p99 latency of the fast requests.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { peakRssMiB, resetPeaks } from '../report/proc.js';
import type { RunSample } from '../report/types.js';
import { freePort } from '../report/ports.js';
import { ROOT, type Stack, startGatewire, startNginx, stopStack } from './stacks.js';

const CLIENT = join(ROOT, 'bench/scenarios/mix-client.ts');

export interface MixOptions {
  readonly dir: string;
  readonly rounds: number;
  readonly processes: number;
  readonly rate: number;
  readonly seconds: number;
  readonly withNginx: boolean;
  readonly log: (line: string) => void;
}

export type MixSide = 'gatewire' | 'nginx';

interface ClientReport {
  fastCount: number;
  slowCount: number;
  errors: number;
  fastP50Ms: number;
  fastP99Ms: number;
  fastMaxMs: number;
  slowP50Ms: number;
}

async function load(stack: Stack, options: MixOptions): Promise<RunSample & { report: ClientReport }> {
  resetPeaks(stack.members);
  const client = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLIENT,
      `http://127.0.0.1:${stack.port}`,
      String(options.rate),
      '2000',
      String(options.seconds * 1000),
      '64',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  client.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const [code] = (await once(client, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the mix client exited with ${code}: ${out}`);
  const report = JSON.parse(out.trim().split('\n').pop()!) as ClientReport;
  return {
    value: report.fastP99Ms,
    p50Ms: report.fastP50Ms,
    p99Ms: report.fastP99Ms,
    rssMiB: peakRssMiB(stack.members),
    ...(report.errors ? { errors: `${report.errors} failed requests` } : {}),
    report,
  };
}

export async function runMix(options: MixOptions): Promise<Map<MixSide, RunSample[]>> {
  const stacks = new Map<MixSide, Stack>();
  const results = new Map<MixSide, RunSample[]>();
  try {
    stacks.set(
      'gatewire',
      await startGatewire({
        dir: options.dir,
        port: await freePort(),
        app: join(ROOT, 'bench/apps/slow-app.ts'),
        processes: options.processes,
      }),
    );
    if (options.withNginx)
      stacks.set(
        'nginx',
        await startNginx({
          dir: options.dir,
          port: await freePort(),
          app: join(ROOT, 'bench/apps/slow-node.mjs'),
          processes: options.processes,
        }),
      );
    for (const name of stacks.keys()) results.set(name, []);
    for (let round = 1; round <= options.rounds; round++) {
      for (const [name, stack] of stacks) {
        const { report, ...sample } = await load(stack, options);
        results.get(name)!.push(sample);
        options.log(
          `round ${round} mix ${name}: fast p50 ${report.fastP50Ms.toFixed(2)} ms, p99 ${report.fastP99Ms.toFixed(1)} ms, max ${report.fastMaxMs.toFixed(0)} ms (${report.fastCount} fast, ${report.slowCount} slow, slow p50 ${report.slowP50Ms.toFixed(0)} ms)${sample.errors ? ` [${sample.errors}]` : ''}`,
        );
      }
    }
  } finally {
    for (const stack of stacks.values()) await stopStack(stack);
  }
  return results;
}
