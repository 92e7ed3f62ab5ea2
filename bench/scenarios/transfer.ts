/**
 * 1 GiB upload and 1 GiB download through each front, streamed end to end: MB/s (10^6 bytes per
 * second of wall time, as curl reports it) and the peak RSS of every process.
 *
 * - gatewire: proxy (`http.maxBodyBytes: 0`, upstream `buffering: off`) → 1 TS worker running
 *   bench/apps/transfer-app.ts;
 * - nginx: 1 worker (`client_max_body_size 0; proxy_request_buffering off;
 *   proxy_max_temp_file_size 0`: the upload streams to the app, the download is relayed through
 *   nginx's default in-memory proxy buffers, never a temporary file) → bench/apps/transfer-node.mjs
 *   on a Unix socket with keep-alive.
 *
 * The client is curl (its own process): `curl -T FILE -X POST` from a sparse file (reads cost no
 * disk I/O) and `curl -o /dev/null` for the download. The apps count the bytes they receive
 * without keeping them; the upload's answer must be the byte count. Rounds go gatewire, nginx,
 * gatewire, nginx…, upload then download.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { peakRssMiB, resetPeaks } from '../report/proc.js';
import type { RunSample } from '../report/types.js';
import { freePort } from '../report/ports.js';
import { ROOT, type Stack, startGatewire, startNginx, stopStack } from './stacks.js';

const run = promisify(execFile);

export interface TransferOptions {
  readonly dir: string;
  readonly rounds: number;
  readonly bytes: number;
  readonly withNginx: boolean;
  readonly log: (line: string) => void;
}

export type TransferSide = 'gatewire' | 'nginx';

export interface TransferResults {
  readonly upload: Map<TransferSide, RunSample[]>;
  readonly download: Map<TransferSide, RunSample[]>;
}

async function upload(stack: Stack, file: string, bytes: number, answer: string): Promise<RunSample> {
  resetPeaks(stack.members);
  const { stdout } = await run(
    'curl',
    [
      '-sS',
      '-X',
      'POST',
      '-H',
      'Expect:',
      '-H',
      'content-type: application/octet-stream',
      '-T',
      file,
      '-o',
      answer,
      '-w',
      '%{http_code} %{size_upload} %{time_total}',
      `http://127.0.0.1:${stack.port}/upload`,
    ],
    { timeout: 300_000 },
  );
  const rssMiB = peakRssMiB(stack.members);
  const [status, sent, seconds] = stdout.trim().split(' ');
  const counted = readFileSync(answer, 'utf8').trim();
  const errors =
    status !== '200' || Number(sent) !== bytes || counted !== String(bytes)
      ? `status ${status}, sent ${sent}, the app counted ${counted.slice(0, 80)}`
      : undefined;
  return { value: bytes / Number(seconds) / 1e6, rssMiB, ...(errors ? { errors } : {}) };
}

async function download(stack: Stack, bytes: number): Promise<RunSample> {
  resetPeaks(stack.members);
  const { stdout } = await run(
    'curl',
    [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{size_download} %{time_total}',
      `http://127.0.0.1:${stack.port}/download?bytes=${bytes}`,
    ],
    { timeout: 300_000 },
  );
  const rssMiB = peakRssMiB(stack.members);
  const [status, received, seconds] = stdout.trim().split(' ');
  const errors =
    status !== '200' || Number(received) !== bytes ? `status ${status}, received ${received}` : undefined;
  return { value: bytes / Number(seconds) / 1e6, rssMiB, ...(errors ? { errors } : {}) };
}

export async function runTransfer(options: TransferOptions): Promise<TransferResults> {
  const file = join(options.dir, 'upload.bin');
  const fd = openSync(file, 'w');
  ftruncateSync(fd, options.bytes); // sparse: reading it costs no disk I/O
  closeSync(fd);
  const answer = join(options.dir, 'upload-answer.txt');
  const stacks = new Map<TransferSide, Stack>();
  const results: TransferResults = { upload: new Map(), download: new Map() };
  try {
    stacks.set(
      'gatewire',
      await startGatewire({
        dir: options.dir,
        port: await freePort(),
        app: join(ROOT, 'bench/apps/transfer-app.ts'),
        processes: 1,
        config: { http: { maxBodyBytes: 0 } },
        upstream: { buffering: 'off' },
      }),
    );
    if (options.withNginx)
      stacks.set(
        'nginx',
        await startNginx({
          dir: options.dir,
          port: await freePort(),
          app: join(ROOT, 'bench/apps/transfer-node.mjs'),
          processes: 1,
          location: 'client_max_body_size 0; proxy_request_buffering off; proxy_max_temp_file_size 0;',
        }),
      );
    for (const name of stacks.keys()) {
      results.upload.set(name, []);
      results.download.set(name, []);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const [name, stack] of stacks) {
        const up = await upload(stack, file, options.bytes, answer);
        results.upload.get(name)!.push(up);
        const down = await download(stack, options.bytes);
        results.download.get(name)!.push(down);
        options.log(
          `round ${round} transfer ${name}: upload ${up.value.toFixed(0)} MB/s, download ${down.value.toFixed(0)} MB/s${
            up.errors || down.errors ? ` [${[up.errors, down.errors].filter(Boolean).join('; ')}]` : ''
          }`,
        );
      }
    }
  } finally {
    for (const stack of stacks.values()) await stopStack(stack);
  }
  return results;
}
