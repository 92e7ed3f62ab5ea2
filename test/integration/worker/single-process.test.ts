/**
 * Single-process mode (`--socket PATH`), as the conformance suite and the examples run it: the
 * real CLI from dist/, real Unix sockets in a fresh temp dir.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, FrameType } from '@gatewire/protocol';
import { ProtocolClient } from './support/protocol-client.js';
import { RawSession } from './support/raw-session.js';
import { freshTempDir } from './support/temp-dir.js';
import { hostLabel } from './support/host-label.js';
import { sleep, waitFor } from './support/wait.js';
import { FIXTURE_APPS, ROOT, WorkerHarness, stopAllWorkers } from './support/worker-harness.js';

const BASIC = join(FIXTURE_APPS, 'basic.ts');
const cleanups: Array<() => void> = [];

afterEach(async () => {
  await stopAllWorkers();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function socketPath(): string {
  const dir = freshTempDir('gwi');
  cleanups.push(dir.remove);
  return join(dir.path, 'worker.sock');
}

async function single(app = BASIC, extra: string[] = []): Promise<{ worker: WorkerHarness; path: string }> {
  const path = socketPath();
  const worker = await WorkerHarness.start([app, '--socket', path, '--log-format', 'json', ...extra]);
  return { worker, path };
}

async function client(path: string, options = {}): Promise<ProtocolClient> {
  const opened = await ProtocolClient.connect(path, options);
  cleanups.push(() => opened.close());
  return opened;
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

describe('single-process mode', () => {
  it('serves on exactly the given path, mode 0660, one process', async () => {
    const { worker, path } = await single();
    expect(statSync(path).mode & 0o777).toBe(0o660);
    const ready = worker.events('ready')[0];
    expect(ready).toMatchObject({ address: `unix:${path}`, mode: 'single', pid: worker.pid });
    const c = await client(path);
    expect(c.peerHello).toMatchObject({ name: `basic-${hostLabel}`, pid: worker.pid });
    const result = await c.request({ path: '/env', requestId: 'abc' }).result();
    expect(JSON.parse(result.body.toString())).toMatchObject({
      requestId: 'abc',
      isRequest: true,
      pid: worker.pid,
    });
  });

  it('reads the socket from GATEWIRE_SOCKET and the app from GATEWIRE_APP', async () => {
    const path = socketPath();
    const worker = await WorkerHarness.start(['--log-format', 'json'], {
      env: { GATEWIRE_SOCKET: path, GATEWIRE_APP: BASIC },
    });
    const c = await client(path);
    expect((await c.request({ path: '/pid' }).result()).body.toString()).toBe(String(worker.pid));
  });

  it('requires the shared secret on its Unix socket too when GATEWIRE_SECRET is set', async () => {
    const path = socketPath();
    await WorkerHarness.start([BASIC, '--socket', path, '--log-format', 'json'], {
      env: { GATEWIRE_SECRET: 'unix-secret' },
    });
    await expect(ProtocolClient.connect(path)).rejects.toThrow(/asks for a shared secret/);
    await expect(ProtocolClient.connect(path, { secret: 'wrong' })).rejects.toThrow(/AUTH_FAILED/);
    const c = await client(path, { secret: 'unix-secret' });
    expect((await c.request({ path: '/hello' }).result()).status).toBe(200);
  });

  it('streams a 16 MiB request body back while it is still arriving', async () => {
    const { path } = await single();
    const c = await client(path);
    const stream = c.request({ method: 'POST', path: '/echo', streaming: true });
    const piece = Buffer.alloc(1024 * 1024, 0x5a);
    let firstEchoBeforeEnd = false;
    for (let i = 0; i < 16; i++) {
      await stream.write(piece);
      if (i === 8) {
        await waitFor(() => stream.bodyBytes > 0, 'echoed bytes while the upload continues');
        firstEchoBeforeEnd = true;
      }
    }
    stream.end();
    const result = await stream.result();
    expect(firstEchoBeforeEnd).toBe(true);
    expect(result.bodyBytes).toBe(16 * 1024 * 1024);
    expect(result.body.every((byte) => byte === 0x5a)).toBe(true);
  });

  it('streams a 1 GiB response to a slow reader with flat memory', async () => {
    const { worker, path } = await single();
    const c = await client(path, { autoWindow: false, initialWindow: 262_144 });
    const baseline = rssBytes(worker.pid);
    const stream = c.request({ path: '/big', query: 'mb=1024', discardBody: true });
    let peak = baseline;
    let pending = 0;
    let received = 0;
    stream.onData = (chunk) => {
      received += chunk.length;
      pending += chunk.length;
    };
    // The reader: takes a pause every 64 MiB, and grants credit only for what it has consumed.
    let lastPause = 0;
    while (!stream.closed) {
      if (received - lastPause >= 64 * 1024 * 1024) {
        lastPause = received;
        await sleep(30);
        peak = Math.max(peak, rssBytes(worker.pid));
      }
      if (pending > 0) {
        stream.grant(pending);
        pending = 0;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await stream.result();
    expect(
      result.reset,
      `worker log:\n${worker.stdout}\nstderr:\n${worker.stderr}\nclient goaway: ${JSON.stringify(c.goaway)}`,
    ).toBeNull();
    expect(result.bodyBytes).toBe(1024 * 1024 * 1024);
    expect(stream.flowViolation).toBe(false);
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);

  it('aborts request.signal when the proxy cancels the stream', async () => {
    const { worker, path } = await single();
    const c = await client(path);
    const stream = c.request({ path: '/wait-abort', requestId: 'cancel-me' });
    await sleep(100);
    stream.cancel(ErrorCode.CANCEL);
    const line = await worker.waitForEvent('test-aborted');
    expect(line).toMatchObject({ request_id: 'cancel-me' });
    expect(String(line.reason)).toMatch(/AbortError/);
  });

  it('answers an app exception with 500, logs it with the request id, and keeps serving', async () => {
    const { worker, path } = await single();
    const c = await client(path);
    expect((await c.request({ path: '/throw', requestId: 'boom-1' }).result()).status).toBe(500);
    const line = await worker.waitForEvent('app-error');
    expect(line).toMatchObject({
      request_id: 'boom-1',
      level: 50,
      err: { message: 'boom: the app failed on purpose' },
    });
    expect((await c.request({ path: '/hello' }).result()).body.toString()).toBe('Hello, World!');
  });

  it('closes a connection that sends a malformed frame with the SPEC code, logs it, and keeps running', async () => {
    const { worker, path } = await single();
    const raw = await RawSession.open(path);
    cleanups.push(() => raw.close());
    raw.sendHandshake();
    raw.write(raw.frame(0x3f, 0, 0));
    expect((await raw.goawayOnClose())?.code).toBe('UNKNOWN_FRAME_TYPE');
    await worker.waitForLog(
      (line) => line.event === 'protocol-error' && line.code === 'UNKNOWN_FRAME_TYPE',
      'the log line',
    );
    expect(worker.exitStatus).toBeNull();
    const c = await client(path);
    expect((await c.request({ path: '/hello' }).result()).status).toBe(200);
  });

  it('tunnels raw bytes after a 101 (upgradeTunnel)', async () => {
    const { path } = await single();
    const c = await client(path);
    const stream = c.request({ path: '/tunnel', upgrade: 'echo' });
    expect((await stream.head.promise).status).toBe(101);
    await stream.write('over the tunnel');
    stream.end();
    expect((await stream.result()).body.toString()).toBe('over the tunnel');
  });

  it('drains on SIGTERM: GOAWAY, socket removed, in-flight requests finish, exit 0', async () => {
    const { worker, path } = await single();
    const c = await client(path);
    const slow = c.request({ path: '/slow', query: 'ms=800' });
    await sleep(100);
    worker.signal('SIGTERM');
    const goaway = await c.goawayReceived.promise;
    expect(goaway).toMatchObject({ code: ErrorCode.NO_ERROR, lastStream: slow.id });
    expect(existsSync(path)).toBe(false);
    const refused = await c.request({ path: '/hello' }).result();
    expect(refused.reset?.code).toBe(ErrorCode.REFUSED_STREAM);
    const finished = await slow.result();
    expect(finished.body.toString()).toBe('slept 800');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.events('drained')).toHaveLength(1);
    await expect(
      new Promise((resolve, reject) => connect(path).once('connect', resolve).once('error', reject)),
    ).rejects.toThrow(/ENOENT/);
  });

  it('runs the Hono example unchanged', async () => {
    const { path } = await single(join(ROOT, 'examples/hono/app.ts'));
    const c = await client(path);
    expect((await c.request({ path: '/' }).result()).body.toString()).toBe('Hello, Hono on gatewire!');
    const user = await c.request({ path: '/users/7', requestId: 'hono-1' }).result();
    expect(JSON.parse(user.body.toString())).toEqual({ id: '7', requestId: 'hono-1', client: '127.0.0.1' });
    const echo = await c
      .request({
        method: 'POST',
        path: '/echo',
        body: '{"x":[1]}',
        headers: [['content-type', 'application/json']],
      })
      .result();
    expect(JSON.parse(echo.body.toString())).toEqual({ received: { x: [1] } });
    expect((await c.request({ path: '/stream' }).result()).body.toString()).toBe(
      'chunk 1\nchunk 2\nchunk 3\n',
    );
    expect((await c.request({ path: '/missing' }).result()).status).toBe(404);
  });

  it('runs the hello example', async () => {
    const { path } = await single(join(ROOT, 'examples/hello/app.ts'));
    const c = await client(path);
    const page = await c.request({ path: '/' }).result();
    expect(page.headers).toContainEqual(['content-type', 'text/html; charset=utf-8']);
    expect(page.body.toString()).toContain('Hello from gatewire');
    const json = await c.request({ path: '/json', query: 'a=1' }).result();
    expect(JSON.parse(json.body.toString())).toMatchObject({ method: 'GET', query: { a: '1' } });
    const echo = await c.request({ method: 'POST', path: '/echo', body: 'round trip' }).result();
    expect(echo.body.toString()).toBe('round trip');
    const ticks = await c.request({ path: '/stream' }).result();
    expect(ticks.body.toString().trim().split('\n')).toHaveLength(10);
  });
});

describe('start-up errors', () => {
  async function failedStart(args: string[], env: Record<string, string> = {}): Promise<WorkerHarness> {
    const worker = await WorkerHarness.start(args, { waitFor: null, env });
    await worker.exited;
    return worker;
  }

  it('exits 3 naming the path for an unknown app', async () => {
    const worker = await failedStart([
      join(FIXTURE_APPS, 'nope.ts'),
      '--socket',
      socketPath(),
      '--log-format',
      'json',
    ]);
    expect(worker.exitStatus?.code).toBe(3);
    expect(worker.events('start-failed')[0]).toMatchObject({
      code: 'APP_NOT_FOUND',
      detail: expect.stringContaining('nope.ts does not exist'),
    });
  });

  it('exits 3 saying what was expected for an app without a fetch handler', async () => {
    const worker = await failedStart([
      join(FIXTURE_APPS, 'no-fetch.ts'),
      '--socket',
      socketPath(),
      '--log-format',
      'json',
    ]);
    expect(worker.exitStatus?.code).toBe(3);
    expect(String(worker.events('start-failed')[0].detail)).toMatch(
      /export default \{ fetch\(request, env, ctx\)/,
    );
  });

  it('exits 2 naming a bad flag, and refuses TCP without a secret', async () => {
    const badFlag = await failedStart([BASIC, '--socket', socketPath(), '--concurency', '4']);
    expect(badFlag.exitStatus?.code).toBe(2);
    expect(badFlag.stderr).toContain('unknown option --concurency');
    const noSecret = await failedStart([BASIC, '--tcp', 'tcp://127.0.0.1:0']);
    expect(noSecret.exitStatus?.code).toBe(2);
    expect(noSecret.stderr).toContain('GATEWIRE_SECRET');
  });

  it('prints help', async () => {
    const help = await failedStart(['--help']);
    expect(help.exitStatus?.code).toBe(0);
    expect(help.stdout).toContain('Usage: gatewire-worker <app>');
  });
});

describe('health', () => {
  it('reports this process in HEALTH', async () => {
    const { path } = await single();
    const c = await client(path);
    await c.request({ path: '/hello' }).result();
    const { health } = await c.ping();
    expect(health).toMatchObject({ requests: 1, inFlight: 0 });
    expect(c.received.some((frame) => frame.type === FrameType.PONG)).toBe(true);
  });
});
