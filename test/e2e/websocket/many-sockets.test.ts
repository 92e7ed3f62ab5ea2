/**
 * 1,000 concurrent WebSockets on one worker process, through the proxy: each one tunnel stream on
 * the proxy's single connection to the worker (which advertises --concurrency 1100 streams). Bounded:
 * connections open in batches, each exchanges one message, everything closes and the app sees every
 * close.
 */
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../integration/worker/support/wait.js';
import { closed, opened, roundTrip, Stack } from './stack.js';

const SOCKETS = 1000;
const BATCH = 100;

describe('1,000 concurrent WebSockets on one worker process', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ workerArgs: ['--processes', '1', '--concurrency', '1100'] });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('opens, echoes on and closes 1,000 sockets at once', { timeout: 60_000 }, async () => {
    const clients: WebSocket[] = [];
    for (let start = 0; start < SOCKETS; start += BATCH) {
      const batch = Array.from({ length: BATCH }, () => stack.client('/echo'));
      await Promise.all(batch.map(opened));
      clients.push(...batch);
    }
    // All open at the same time, all in one process.
    expect((await stack.get('/count')).text).toBe(String(SOCKETS));
    const pids = new Set<number>();
    for (let start = 0; start < SOCKETS; start += BATCH) {
      const replies = await Promise.all(
        clients.slice(start, start + BATCH).map((client, i) => roundTrip(client, `#${start + i}`)),
      );
      replies.forEach((reply, i) => expect(reply).toBe(`#${start + i}`));
    }
    for (const reply of await Promise.all(clients.slice(0, 10).map((client) => roundTrip(client, 'pid?'))))
      pids.add(Number(String(reply).slice(4)));
    expect(pids.size).toBe(1);
    const closes = clients.map(closed);
    for (const client of clients) client.close(1000);
    for (const close of await Promise.all(closes)) expect(close.code).toBe(1000);
    await waitFor(async () => (await stack.get('/count')).text === '0', 'the app seeing every close');
  });
});
