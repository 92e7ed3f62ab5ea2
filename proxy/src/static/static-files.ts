import { resolve } from 'node:path';
import type { Exchange } from '../http/exchange.js';
import { isPlainSegment } from './safe-path.js';
import { StaticRequest, type StaticConfig } from './static-request.js';

export interface StaticFilesOptions {
  /** The directory served; resolved against the working directory once, at construction. */
  root: string;
  /** File names tried, in order, for a request that names a directory. Default `['index.html']`. */
  index?: string[];
  /** `Cache-Control: max-age=<n>` on 200, 206 and 304 responses. Default: no Cache-Control. */
  maxAgeSeconds?: number;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['root', 'index', 'maxAgeSeconds']);

/**
 * Serves the files under one directory for a route prefix, as nginx serves Django's collected
 * /static/: GET and HEAD only, ETag and Last-Modified validators with 304 and 412, single byte
 * ranges with 206 and 416, index files for directories but never listings, dotfiles never, and no
 * path or symlink that leads outside the root. Files are streamed in chunks with backpressure.
 *
 * Responses: 200 and 206 (with ETag, Last-Modified, Accept-Ranges, Content-Type, Content-Length);
 * 304 (ETag, Cache-Control only); 301 to the slash form for a directory named without one (query
 * kept); through `respondError`: 400 for a path that is not well-formed percent-encoding, 404 for
 * anything missing, refused or off limits (traversal, NUL, backslash, encoded slash, dotfiles,
 * symlinks out of the root, directories without an index, FIFOs and devices), 403 for EACCES,
 * 405 with `Allow: GET, HEAD`, 412, 416 with `Content-Range: bytes *\/size`, 500 for other errors
 * (after the head: a cut connection).
 *
 * @example
 * const assets = new StaticFiles({ root: '/srv/app/static', maxAgeSeconds: 3600 });
 * // in the dispatcher, for GET /static/css/site.css with the route prefix '/static/':
 * exchange.upstream = 'static';
 * assets.handle(exchange, 'css/site.css');
 */
export class StaticFiles {
  readonly #config: StaticConfig;

  constructor(options: StaticFilesOptions) {
    this.#config = validateOptions(options);
  }

  /**
   * Serves `relativePath` (the raw, still percent-encoded remainder of the request path after the
   * route prefix) for this exchange; null when the request named the route's own directory without
   * its trailing slash (`/static` for `/static/`): a 301 to the slash form, as for any directory.
   */
  handle(exchange: Exchange, relativePath: string | null): void {
    new StaticRequest(exchange, this.#config).start(relativePath);
  }
}

/** Checks the options eagerly, so a bad configuration fails at startup rather than per request. */
function validateOptions(options: StaticFilesOptions): StaticConfig {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('StaticFiles: options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`StaticFiles: unknown option "${key}"`);
  }
  const { root, index = ['index.html'], maxAgeSeconds } = options;
  if (typeof root !== 'string' || root === '' || root.includes('\0')) {
    throw new TypeError('StaticFiles: root must be a non-empty path');
  }
  if (!Array.isArray(index)) throw new TypeError('StaticFiles: index must be an array of file names');
  for (const name of index) {
    // An index name is looked up inside the directory as is: one plain, visible segment.
    if (typeof name !== 'string' || !isPlainSegment(name)) {
      throw new TypeError(`StaticFiles: index entry ${JSON.stringify(name)} is not a plain file name`);
    }
  }
  if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) {
    throw new RangeError(
      `StaticFiles: maxAgeSeconds must be a non-negative integer, got ${String(maxAgeSeconds)}`,
    );
  }
  return Object.freeze({
    root: resolve(root),
    index: Object.freeze([...index]),
    maxAgeSeconds: maxAgeSeconds ?? null,
  });
}
