/**
 * The mixed-latency benchmark's app on gatewire: `/slow` holds its process for 200 ms (a blocking
 * sleep, as a synchronous database call or CPU-bound work would), everything else answers
 * `Hello, World!` at once. bench/apps/slow-node.mjs is the same on node:http.
 */
const SLEEP_MS = 200;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export default {
  fetch(request: Request): Response {
    if (request.url.endsWith('/slow')) {
      Atomics.wait(sleeper, 0, 0, SLEEP_MS);
      return new Response('slow', { headers: { 'content-type': 'text/plain' } });
    }
    return new Response('Hello, World!', { headers: { 'content-type': 'text/plain' } });
  },
};
