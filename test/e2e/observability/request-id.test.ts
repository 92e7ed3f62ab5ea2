/**
 * One request followed across processes: the request id (a trusted proxy's X-Request-Id, else
 * one the proxy generates) is in the proxy's access-log line, reaches the worker in the environ,
 * and is on the worker's error lines about that request: the TS worker's app-error line (stdout)
 * and the Python worker's app_error and wsgi.errors lines (stderr).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { ObsStack } from './obs-stack.js';

const TRUSTED = { trustedProxies: ['127.0.0.1'] };
const GENERATED_ID = /^[0-9a-f]{8}-[0-9a-z]+$/;

async function workerLine(
  stack: ObsStack,
  matches: (line: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  await waitFor(
    () => stack.workerLines.some(matches),
    10_000,
    () => what,
  );
  return stack.workerLines.find(matches)!;
}

/** The access-log line of the `count`-th request of a path (1-based), once it is written. */
async function accessLineOf(stack: ObsStack, path: string, count: number): Promise<Record<string, unknown>> {
  const lines = (): Array<Record<string, unknown>> =>
    stack.proxy.lines.filter((line) => line.log === 'access' && line.path === path);
  await waitFor(
    () => lines().length >= count,
    5000,
    () => `access-log line ${count} of ${path}`,
  );
  return lines()[count - 1];
}

describe('request id across the proxy and the TS worker', () => {
  let stack: ObsStack;

  beforeAll(async () => {
    stack = await ObsStack.start({ worker: 'ts', processes: 1, config: TRUSTED });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("a trusted X-Request-Id is on the access-log line and on the worker's app-error line", async () => {
    const reply = await stack.raw('GET', '/obs/throw', { headers: { 'x-request-id': 'trace-ts-4242' } });
    expect(reply.status).toBe(500);
    const access = await stack.accessLine('trace-ts-4242');
    expect(access).toMatchObject({ method: 'GET', path: '/obs/throw', status: 500 });
    const error = await workerLine(stack, (line) => line.event === 'app-error', 'the app-error line');
    expect(error).toMatchObject({ level: 50, request_id: 'trace-ts-4242', path: '/obs/throw' });
    expect((error.err as { message: string }).message).toBe('boom for trace-ts-4242');
  });

  it('a generated id is the same in both processes', async () => {
    expect((await stack.raw('GET', '/obs/throw?generated')).status).toBe(500);
    const id = String((await accessLineOf(stack, '/obs/throw', 2)).requestId);
    expect(id).toMatch(GENERATED_ID);
    const error = await workerLine(
      stack,
      (line) => line.event === 'app-error' && line.request_id === id,
      `the app-error line of ${id}`,
    );
    expect((error.err as { message: string }).message).toBe(`boom for ${id}`);
  });
});

describe('request id across the proxy and the Python worker', () => {
  let stack: ObsStack;

  beforeAll(async () => {
    stack = await ObsStack.start({ worker: 'python', processes: 1, config: TRUSTED });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("a trusted X-Request-Id is on the access-log line, the app_error line and the app's wsgi.errors line", async () => {
    expect((await stack.raw('GET', '/obs/ok')).status).toBe(200);
    const reply = await stack.raw('GET', '/obs/throw', { headers: { 'x-request-id': 'trace-py-777' } });
    expect(reply.status).toBe(500);
    expect(await stack.accessLine('trace-py-777')).toMatchObject({ path: '/obs/throw', status: 500 });
    const appError = await workerLine(stack, (line) => line.event === 'app_error', 'the app_error line');
    expect(appError).toMatchObject({ level: 'error', request_id: 'trace-py-777' });
    expect(String(appError.exc)).toContain('RuntimeError: boom from the WSGI app');
    const written = await workerLine(stack, (line) => line.event === 'wsgi_errors', 'the wsgi.errors line');
    expect(written).toMatchObject({ msg: 'about to fail', request_id: 'trace-py-777' });
  });

  it('a generated id is the same in both processes', async () => {
    expect((await stack.raw('GET', '/obs/throw?again')).status).toBe(500);
    const id = String((await accessLineOf(stack, '/obs/throw', 2)).requestId);
    expect(id).toMatch(GENERATED_ID);
    await workerLine(
      stack,
      (line) => line.event === 'wsgi_errors' && line.request_id === id,
      `the wsgi.errors line of ${id}`,
    );
    await workerLine(
      stack,
      (line) => line.event === 'app_error' && line.request_id === id,
      `the app_error line of ${id}`,
    );
  });
});
