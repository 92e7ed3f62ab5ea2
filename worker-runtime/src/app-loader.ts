import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExecutionContext, FetchHandler, WorkerEnv } from './app-contract.js';
import { WorkerError } from './errors.js';

/**
 * A loaded app: the fetch function and the object it is called on.
 *
 * @example
 * ```ts
 * const app: LoadedApp = await loadApp('examples/hono/app.ts');
 * const response = await app.fetch.call(app.target, request, env, ctx);
 * ```
 */
export interface LoadedApp {
  /** Absolute path of the module. */
  readonly path: string;
  /** `this` for `fetch` (the exported object, or undefined for a bare function). */
  readonly target: unknown;
  readonly fetch: FetchHandler;
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
let tsxRegistered = false;

const EXPECTED =
  'expected `export default { fetch(request, env, ctx) { … } }`, `export default function (request, env, ctx) { … }` ' +
  'or `export default app` where app has a fetch method (a Hono app)';

/** Finds the fetch handler in a module namespace (see EXPECTED). */
export function findFetchHandler(
  namespace: Record<string, unknown>,
  path: string,
): { target: unknown; fetch: FetchHandler } {
  let candidate: unknown = namespace.default;
  // A CommonJS module imported as ESM puts module.exports on default; unwrap `exports.default`.
  if (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof (candidate as { fetch?: unknown }).fetch !== 'function' &&
    'default' in candidate
  ) {
    candidate = (candidate as { default: unknown }).default;
  }
  if (candidate === undefined && typeof namespace.fetch === 'function') {
    return { target: namespace, fetch: namespace.fetch as FetchHandler };
  }
  if (typeof candidate === 'function') {
    const fetch = (candidate as { fetch?: unknown }).fetch;
    // A function object that carries fetch (some frameworks export such a thing) is an app object.
    if (typeof fetch === 'function') return { target: candidate, fetch: fetch as FetchHandler };
    return { target: undefined, fetch: candidate as FetchHandler };
  }
  if (candidate !== null && typeof candidate === 'object') {
    const fetch = (candidate as { fetch?: unknown }).fetch;
    if (typeof fetch === 'function') return { target: candidate, fetch: fetch as FetchHandler };
    const keys = Object.keys(candidate).slice(0, 8);
    throw new WorkerError(
      'APP_NO_FETCH',
      `${path}: the default export has no fetch method (its keys: ${keys.length ? keys.join(', ') : 'none'}); ${EXPECTED}`,
    );
  }
  const exported = Object.keys(namespace).filter((key) => key !== 'default');
  throw new WorkerError(
    'APP_NO_FETCH',
    `${path}: no fetch handler found (${candidate === undefined ? 'no default export' : `the default export is ${candidate === null ? 'null' : typeof candidate}`}` +
      `${exported.length ? `; named exports: ${exported.slice(0, 8).join(', ')}` : ''}); ${EXPECTED}`,
  );
}

/**
 * Imports an app module and returns its fetch handler. TypeScript files (.ts, .mts, .cts, .tsx)
 * load through tsx, with no build step.
 *
 * Throws WorkerError APP_NOT_FOUND, APP_LOAD_FAILED or APP_NO_FETCH with a message that says
 * what was expected.
 *
 * @example
 * ```ts
 * const app = await loadApp('examples/hello/app.ts');
 * const server = await serve(app, { listen: { kind: 'socket', path: '/tmp/hello.sock' } });
 * ```
 */
export async function loadApp(specifier: string): Promise<LoadedApp> {
  const path = resolve(specifier);
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new WorkerError(
      'APP_NOT_FOUND',
      `app not found: ${path} does not exist (pass the path of a module that exports a fetch handler)`,
    );
  }
  if (!isFile) {
    throw new WorkerError(
      'APP_NOT_FOUND',
      `app not found: ${path} is not a file (pass the app module's path)`,
    );
  }
  if (TYPESCRIPT.has(extname(path)) && !tsxRegistered) {
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new WorkerError('APP_LOAD_FAILED', `app ${path} failed to load: ${detail}`, { cause: error });
  }
  const { target, fetch } = findFetchHandler(namespace, path);
  return { path, target, fetch };
}

/** Calls a loaded app's handler (`this` bound to its object, as `app.fetch(...)` would). */
export function callApp(app: LoadedApp, request: Request, env: WorkerEnv, ctx: ExecutionContext): unknown {
  return app.fetch.call(app.target, request, env, ctx);
}
