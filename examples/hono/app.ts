/**
 * A Hono app, used unchanged: `export default app` is all the worker needs (Hono apps have a
 * fetch method). `c.env` is the worker's env (client address, request id, …).
 *
 *   node worker-runtime/dist/main.js examples/hono/app.ts --socket-dir /tmp/gatewire --processes 2
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { WorkerEnv } from '@gatewire/worker';

const app = new Hono<{ Bindings: WorkerEnv }>();

app.get('/', (c) => c.text('Hello, Hono on gatewire!'));

app.get('/users/:id', (c) =>
  c.json({ id: c.req.param('id'), requestId: c.env.requestId, client: c.env.clientAddr }),
);

app.post('/echo', async (c) => c.json({ received: await c.req.json<unknown>() }));

app.get('/stream', (c) =>
  stream(c, async (out) => {
    for (let i = 1; i <= 3; i++) {
      await out.write(`chunk ${i}\n`);
      await out.sleep(10);
    }
  }),
);

app.notFound((c) => c.text('no such route', 404));

export default app;
