import type { Environ, HeaderPairs } from '@gatewire/protocol';
import type { WorkerEnv } from './app-contract.js';
import { headersFromPairs } from './gateway-request.js';
import type { RequestBody } from './request-body.js';

const NO_TRAILERS_YET: HeaderPairs = [];

function toHeaders(pairs: HeaderPairs | null): Headers {
  return headersFromPairs(pairs ?? NO_TRAILERS_YET);
}

function swallow(): void {}

/**
 * The `env` of one request: the environ extras (SPEC §7.2) as plain own properties, so that
 * spreading or logging it shows them; `trailers` and `environ` are read on demand.
 */
export class RequestEnv implements WorkerEnv {
  readonly clientAddr: string;
  readonly clientPort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  readonly serverName: string;
  readonly scheme: string;
  readonly requestId: string;
  readonly target: string;
  readonly httpVersion: string;
  readonly scriptName: string;
  readonly upgrade: string;
  readonly bodyLength: number | null;
  #environ: Environ;
  #body: RequestBody | null;
  #trailers: Promise<Headers> | undefined = undefined;

  constructor(environ: Environ, body: RequestBody | null) {
    this.clientAddr = environ.clientAddr;
    this.clientPort = environ.clientPort;
    this.serverAddr = environ.serverAddr;
    this.serverPort = environ.serverPort;
    this.serverName = environ.serverName;
    this.scheme = environ.scheme;
    this.requestId = environ.requestId;
    this.target = environ.target;
    this.httpVersion = environ.httpVersion;
    this.scriptName = environ.scriptName;
    this.upgrade = environ.upgrade;
    this.bodyLength = environ.bodyLength;
    this.#environ = environ;
    this.#body = body;
  }

  get environ(): Readonly<Environ> {
    return this.#environ;
  }

  /** Request trailers (SPEC §8.3) once the body has ended; an empty Headers when there were none. */
  get trailers(): Promise<Headers> {
    if (this.#trailers === undefined) {
      const body = this.#body;
      this.#trailers =
        body === null ? Promise.resolve(new Headers()) : body.trailersPromise().then(toHeaders);
      // A cancelled stream rejects this promise; an app that never awaits it must not crash the process.
      this.#trailers.catch(swallow);
    }
    return this.#trailers;
  }
}
