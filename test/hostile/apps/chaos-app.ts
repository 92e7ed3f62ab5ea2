/**
 * The worker app of the chaos run (scripts/chaos.ts): short requests that say which process
 * served them.
 *
 *   GET  /work?ms=N   answers `done N` after N ms
 *   POST /echo        the body, read whole, sent back
 */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const headers = { 'x-pid': String(process.pid) };
    if (url.pathname === '/echo' && request.method === 'POST')
      return new Response(new Uint8Array(await request.arrayBuffer()), { headers });
    if (url.pathname === '/work') {
      const ms = Number(url.searchParams.get('ms') ?? 0);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      return new Response(`done ${ms}`, { headers });
    }
    return new Response('not found\n', { status: 404, headers });
  },
};
