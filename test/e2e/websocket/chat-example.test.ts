/**
 * examples/chat as its README runs it (worker supervisor + proxy): the page is served, and a message
 * from one socket reaches every socket of the room, with join and leave notices.
 */
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../integration/worker/support/worker-harness.js';
import { closed, Inbox, opened, Stack } from './stack.js';

interface ChatEvent {
  type: string;
  [key: string]: unknown;
}

const inboxes = new WeakMap<WebSocket, Inbox>();

/** A chat client whose every event is kept, in order. */
function chatClient(stack: Stack, path: string): WebSocket {
  const client = stack.client(path);
  inboxes.set(client, new Inbox(client));
  return client;
}

async function next(client: WebSocket): Promise<ChatEvent> {
  return JSON.parse(String(await inboxes.get(client)!.next())) as ChatEvent;
}

describe('examples/chat', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ app: join(ROOT, 'examples/chat/app.ts') });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the page with its WebSocket client', async () => {
    const page = await stack.get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('new WebSocket(`${scheme}://${location.host}/ws');
    expect((await stack.get('/ws')).status).toBe(426);
  });

  it('broadcasts every message to everyone in the room', async () => {
    const ada = chatClient(stack, '/ws?name=Ada');
    await opened(ada);
    expect(await next(ada)).toMatchObject({ type: 'welcome', you: 'Ada', online: ['Ada'] });
    expect(await next(ada)).toMatchObject({ type: 'join', name: 'Ada', online: 1 });
    const bob = chatClient(stack, '/ws?name=Bob<script>');
    await opened(bob);
    expect(await next(bob)).toMatchObject({
      type: 'welcome',
      you: 'Bobscript',
      online: ['Ada', 'Bobscript'],
    });
    expect(await next(ada)).toMatchObject({ type: 'join', name: 'Bobscript', online: 2 });
    expect(await next(bob)).toMatchObject({ type: 'join', name: 'Bobscript' });
    bob.send('hello, Ada');
    for (const event of await Promise.all([next(ada), next(bob)]))
      expect(event).toMatchObject({ type: 'message', name: 'Bobscript', text: 'hello, Ada' });
    bob.close(1000);
    await closed(bob);
    expect(await next(ada)).toMatchObject({ type: 'leave', name: 'Bobscript', online: 1 });
    const tooBig = closed(ada);
    ada.send('x'.repeat(5000));
    expect((await tooBig).code).toBe(1009);
  });
});
