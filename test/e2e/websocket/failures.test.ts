/**
 * WebSocket failure modes through the real proxy and supervisor: a worker process killed under
 * open sockets (the client gets 1011 from the proxy), the proxy's tunnel idle timeout (1001), and
 * a rolling reload (SIGHUP) that lets open sockets live until the grace period ends while new ones
 * go to the new process.
 */
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../integration/worker/support/wait.js';
import { closed, nextMessage, opened, roundTrip, Stack } from './stack.js';

let stack: Stack | null = null;

afterEach(async () => {
  await stack?.stop();
  stack = null;
});

async function pidOf(client: WebSocket): Promise<number> {
  const reply = await roundTrip(client, 'pid?');
  const match = /^pid (\d+)$/.exec(String(reply));
  if (match === null) throw new Error(`unexpected reply ${String(reply)}`);
  return Number(match[1]);
}

describe('WebSocket failures and lifecycle', () => {
  it('a worker process killed (SIGKILL) under open sockets: every client gets close 1011', async () => {
    stack = await Stack.start();
    const clients = [stack.client('/pid'), stack.client('/echo'), stack.client('/echo')];
    const greeting = nextMessage(clients[0]);
    await Promise.all(clients.map(opened));
    const pid = Number(String(await greeting).slice(4));
    for (const client of clients.slice(1)) expect(await pidOf(client)).toBe(pid);
    const closes = clients.map(closed);
    process.kill(pid, 'SIGKILL'); // a worker process this test's supervisor started
    for (const close of await Promise.all(closes))
      expect(close).toEqual({ code: 1011, reason: 'upstream failed' });
    // The supervisor replaces the process; new sockets reach the new one.
    const replacement = await waitFor(async () => {
      const client = stack!.client('/echo');
      try {
        await opened(client);
        return client;
      } catch {
        return undefined;
      }
    }, 'a socket on the respawned worker');
    const newPid = await pidOf(replacement);
    expect(newPid).not.toBe(pid);
  });

  it('the proxy’s tunnel idle timeout closes an idle socket with 1001; the app sees the close', async () => {
    stack = await Stack.start({ upstream: { tunnelIdleTimeoutMs: 1500 } });
    const busy = stack.client('/watch?tag=busy');
    const idle = stack.client('/watch?tag=idle');
    await Promise.all([opened(busy), opened(idle)]);
    const idleClosed = closed(idle);
    // The busy socket keeps talking for twice the idle timeout and stays open.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      expect(await roundTrip(busy, 'tick')).toBe('tick');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await idleClosed).toEqual({ code: 1001, reason: 'idle timeout' });
    expect(busy.readyState).toBe(busy.OPEN);
    const seen = await waitFor(async () => {
      const closes = JSON.parse((await stack!.get('/closes')).text) as Array<{ tag: string; code: number }>;
      return closes.find((entry) => entry.tag === 'idle');
    }, 'the app seeing the idle close');
    expect(seen.code).toBe(1006); // the tunnel was reset under it: no close frame reached the app
    busy.close();
    expect((await closed(busy)).code).toBe(1005);
  });

  it('a rolling reload (SIGHUP) keeps open sockets working until the grace period ends; new ones reach the new process', async () => {
    stack = await Stack.start({ workerArgs: ['--processes', '1', '--grace', '6'] });
    const old = stack.client('/echo');
    await opened(old);
    const oldPid = await pidOf(old);
    const oldClosed = closed(old);
    stack.worker.signal('SIGHUP');
    await stack.worker.waitForLog((line) => line.event === 'reload' && line.phase === 'done', 'reload done');
    // New sockets go to the new process (the old one left the socket directory and sent GOAWAY).
    const fresh = await waitFor(async () => {
      const client = stack!.client('/echo');
      try {
        await opened(client);
        const pid = await pidOf(client);
        if (pid !== oldPid) return client;
        client.close();
      } catch {
        // the proxy may still be switching over
      }
      return undefined;
    }, 'a socket on the new process');
    expect(await pidOf(fresh)).not.toBe(oldPid);
    // The old socket still talks to the old, draining process.
    expect(await pidOf(old)).toBe(oldPid);
    expect(await roundTrip(old, 'still here')).toBe('still here');
    // At the end of the grace period the old process closes what is left: it was going away (1001).
    expect(await oldClosed).toEqual({ code: 1001, reason: 'upstream going away' });
    await stack.worker.waitForLog((line) => line.event === 'grace-expired', 'grace-expired');
    expect(await roundTrip(fresh, 'after')).toBe('after');
  });

  it('each open socket holds one of the worker’s streams: beyond --concurrency the proxy answers 503, a closed socket frees its slot', async () => {
    stack = await Stack.start({
      workerArgs: ['--processes', '1', '--concurrency', '2'],
      upstream: { queueLength: 0 },
    });
    const first = stack.client('/echo');
    const second = stack.client('/echo');
    await Promise.all([opened(first), opened(second)]);
    const third = stack.client('/echo');
    const refused = new Promise<number>((resolve) =>
      third.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
    );
    expect(await refused).toBe(503);
    first.close(1000);
    await closed(first);
    const fourth = await waitFor(async () => {
      const client = stack!.client('/echo');
      try {
        await opened(client);
        return client;
      } catch {
        return undefined; // the slot is freed once the close handshake has ended both directions
      }
    }, 'a socket in the freed slot');
    expect(await roundTrip(fourth, 'in')).toBe('in');
    expect(await roundTrip(second, 'still')).toBe('still');
  });
});
