import type { FetchApp, FetchHandler } from './app-contract.js';
import type { LoadedApp } from './app-loader.js';
import type { ListenTarget } from './worker-config.js';
import { WorkerServer, type WorkerServerOptions } from './worker-server.js';

/**
 * Options of serve(): where to listen, plus every WorkerServer option.
 *
 * @example
 * ```ts
 * const options: ServeOptions = { listen: { kind: 'socket-dir', dir: '/run/gatewire' }, name: 'shop', concurrency: 64 };
 * ```
 */
export interface ServeOptions extends Omit<WorkerServerOptions, 'app'> {
  /** Where to listen: `{ kind: 'socket', path }`, `{ kind: 'socket-dir', dir }` or `{ kind: 'tcp', host, port }`. */
  listen: ListenTarget;
}

/**
 * Serves an app in this process, without a supervisor: the programmatic form of single-process
 * mode. Resolves once the socket is in place (SPEC §16).
 *
 * @example
 * ```ts
 * import { serve } from '@gatewire/worker';
 * const server = await serve({ fetch: () => new Response('hello') }, {
 *   listen: { kind: 'socket', path: '/tmp/gatewire/app.sock' },
 * });
 * process.on('SIGTERM', () => void server.drain().then(() => process.exit(0)));
 * ```
 */
export async function serve(
  app: LoadedApp | FetchApp | FetchHandler,
  options: ServeOptions,
): Promise<WorkerServer> {
  const { listen, ...rest } = options;
  const server = new WorkerServer({ ...rest, app });
  await server.listen(listen);
  return server;
}
