/**
 * log.level and log.format are honoured by the real proxy process: `--log-level warn` keeps the
 * warning about a failed upstream request and drops info lines (the access log among them);
 * `--log-format pretty` writes pino-pretty text, access lines included, and no JSON. The upstream
 * is a socket nobody listens on, so every request fails with a logged 503.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyProcess, writeConfig } from '../../integration/proxy/helpers/http-proxy.js';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { freshTempDir } from '../../integration/worker/support/temp-dir.js';

/** A port free a moment ago (the proxy's "listening" line is not JSON in pretty mode). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('proxy log level and format', () => {
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(args: string[]): Promise<{ proxy: ProxyProcess; get(path: string): Promise<number> }> {
    const dir = freshTempDir('obs-logs');
    cleanups.push(() => dir.remove());
    const port = await freePort();
    const config = writeConfig(dir.path, {
      listen: { host: '127.0.0.1', port },
      upstreams: { app: { sockets: [join(dir.path, 'nobody.sock')] } },
      upstream: { queueTimeoutMs: 100, reconnectBaseMs: 50 },
      admin: false,
    });
    const proxy = new ProxyProcess(config, args);
    cleanups.push(() => proxy.stop());
    const get = async (path: string): Promise<number> => {
      const response = await request(`http://127.0.0.1:${port}${path}`);
      await response.body.arrayBuffer();
      return response.statusCode;
    };
    // Up once it answers (its own lines may not be parsable here).
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await get('/probe');
        break;
      } catch (error) {
        if (Date.now() > deadline || proxy.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return { proxy, get };
  }

  it('--log-level warn: the warning is written, info lines (access log included) are not', async () => {
    const { proxy, get } = await start(['--log-level', 'warn']);
    expect(await get('/first')).toBe(503);
    expect(await get('/second')).toBe(503);
    // The second request's warning comes after the first request's access line would have.
    await waitFor(
      () => proxy.lines.filter((line) => line.msg === 'upstream request failed').length >= 3,
      5000,
      () => 'three upstream failure warnings',
    );
    expect(proxy.lines.every((line) => typeof line.level === 'number' && line.level >= 40)).toBe(true);
    expect(proxy.lines.some((line) => line.log === 'access')).toBe(false);
  });

  it('--log-format pretty: pino-pretty text, access lines included, no JSON', async () => {
    const { proxy, get } = await start(['--log-format', 'pretty']);
    expect(await get('/pretty-one')).toBe(503);
    const text = (): string =>
      proxy.lines.map((line) => (typeof line === 'string' ? line : String(line.msg))).join('\n');
    await waitFor(
      () =>
        /INFO: request\n {4}log: "access"\n {4}requestId: "[^"]+"\n {4}method: "GET"\n {4}path: "\/pretty-one"/.test(
          text(),
        ),
      5000,
      () => `the pretty access line; got:\n${text()}`,
    );
    expect(text()).toMatch(/WARN.*upstream request failed/);
    // Nothing parsed as a JSON log line (a pretty continuation line may parse as a bare string).
    expect(proxy.lines.some((line) => typeof (line as { level?: unknown }).level === 'number')).toBe(false);
  });
});
