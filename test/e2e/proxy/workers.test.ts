/**
 * Issue #4 end to end, worker side: workers joining and leaving the socket directory under load,
 * a worker killed mid-request, and a client too slow to read — real proxy, real TS supervisor.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../integration/proxy/helpers/test-proxy.js';
import { Hold, Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({ processes: 2 });
});

afterAll(async () => {
  await stack?.stop();
});

const count = (message: string): number => stack.proxy.lines.filter((line) => line.msg === message).length;

describe('workers coming, going and failing under a live proxy', () => {
  it('keeps serving with zero failures while workers join, leave and reload', async () => {
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const loop = async (): Promise<void> => {
      const client = stack.client();
      while (running) {
        try {
          const response = await client.request({ path: '/hello', method: 'GET' });
          const body = await response.body.text();
          if (response.statusCode !== 200 || body !== 'Hello, World!')
            failures.push(`${response.statusCode} ${body}`);
          else served++;
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const loops = Array.from({ length: 2 }, loop);
    const joinedBefore = count('worker joined');
    const leftBefore = count('worker left');
    // One more process: its socket appears in the directory and the proxy uses it.
    stack.worker.signal('SIGTTIN');
    await waitFor(
      () => count('worker joined') > joinedBefore,
      10_000,
      () => 'a third worker joining',
    );
    // One fewer: it removes its socket and drains; the proxy lets its requests finish.
    stack.worker.signal('SIGTTOU');
    await waitFor(
      () => count('worker left') > leftBefore,
      10_000,
      () => 'a worker leaving',
    );
    // A rolling reload: every process replaced, one at a time.
    const reloads = stack.worker.events('reload').length;
    stack.worker.signal('SIGHUP');
    await waitFor(
      () =>
        stack.worker.events('reload').filter((line) => line.phase === 'done').length > 0 &&
        stack.worker.events('reload').length > reloads,
      20_000,
      () => 'the rolling reload to finish',
    );
    // The removed one, then the two reloaded ones: their sockets leave the directory.
    await waitFor(
      () => count('worker left') >= leftBefore + 3,
      10_000,
      () => 'the old workers leaving',
    );
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(50);
  });

  it('fails only the requests of a worker killed mid-request: 502 before the head, a cut body after', async () => {
    // Held requests, spread over both processes (least-loaded): some are on the victim when it
    // dies, before their heads; streamed responses are mid-body.
    const holds = Array.from({ length: 4 }, (_, i) => new Hold(stack, `kill-${i}`));
    const holders = await Promise.all(holds.map((hold) => hold.started()));
    const victim = holders[0];
    expect(new Set(holders).size).toBe(2);
    const streams = Array.from({ length: 2 }, () =>
      stack.request('/stream?n=40&ms=50').catch((error: unknown) => error),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(victim, 'SIGKILL');
    for (const hold of holds) hold.release();
    const outcomes = await Promise.all([...holds.map((hold) => hold.reply), ...streams]);
    let failed = 0;
    for (const outcome of outcomes) {
      if (outcome instanceof Error) {
        failed++; // a streamed body cut mid-way: undici reports the truncation
        continue;
      }
      const reply = outcome as Awaited<ReturnType<Stack['request']>>;
      if (reply.status === 502) {
        failed++;
        expect(reply.body.toString()).toMatch(/request id: /);
        continue;
      }
      expect(reply.status).toBe(200);
      expect(Number(reply.headers['x-pid'])).not.toBe(victim);
    }
    // Every held request on the victim failed (and at most the streams besides).
    const onVictim = holders.filter((pid) => pid === victim).length;
    expect(failed).toBeGreaterThanOrEqual(onVictim);
    expect(failed).toBeLessThanOrEqual(onVictim + 2);
    expect(failed).toBeLessThan(6);
    // The failures name the dead worker, and nothing else failed.
    const failures = stack.proxy.lines.filter((line) => line.msg === 'upstream request failed');
    expect(failures.length).toBeGreaterThan(0);
    for (const line of failures) expect(String(line.worker)).toContain(`.${victim}.sock`);
    // The supervisor replaces it and the proxy keeps serving.
    await stack.worker.waitForLog((line) => line.event === 'respawn' || line.event === 'spawn', 'a respawn');
    expect((await stack.request('/hello')).status).toBe(200);
  });

  it('does not buffer for a client that stops reading (backpressure to the worker)', async () => {
    const total = 64 * 1024 * 1024;
    const rssBefore = stack.proxyRss();
    const socket = connect(stack.port, '127.0.0.1');
    let received = 0;
    let paused = false;
    const done = new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!paused && received > 1024 * 1024) {
          paused = true;
          socket.pause();
        }
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    socket.write(`GET /big?bytes=${total} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    await waitFor(
      () => paused,
      10_000,
      () => 'the first megabyte',
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stalledAt = received;
    const rssWhilePaused = stack.proxyRss();
    // The proxy holds about one flow-control window per stream plus socket buffers, not the body.
    expect(rssWhilePaused - rssBefore).toBeLessThan(48 * 1024 * 1024);
    expect(stalledAt).toBeLessThan(total / 2);
    socket.resume();
    await done;
    // The body, chunked (no length from the app), and its framing.
    expect(received).toBeGreaterThan(total);
    expect(received).toBeLessThan(total + 64 * 1024);
  });
});
