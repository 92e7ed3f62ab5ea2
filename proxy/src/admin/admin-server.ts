import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import { STATUS_PAGE } from './status-page.js';

/** What /healthz reports: the proxy's lifecycle state. */
export interface AdminSubject {
  readonly metrics: ProxyMetrics;
  readonly state: string;
}

/**
 * The admin listener (nginx stub_status, HAProxy's stats page, uWSGI's stats server): off the
 * public port, loopback by default, node:http (it is off the hot path).
 *
 * - `GET /metrics`: Prometheus text format;
 * - `GET /status`: a self-contained HTML page polling /status.json every second;
 * - `GET /status.json`: workers, totals and the last minute per second;
 * - `GET /healthz`: 200 `ok` while serving, 503 while draining.
 *
 * It has no authentication: never expose it publicly.
 */
export class AdminServer {
  readonly #subject: AdminSubject;
  readonly #server: Server;

  constructor(subject: AdminSubject) {
    this.#subject = subject;
    this.#server = createServer((request, response) => this.#handle(request, response));
    this.#server.keepAliveTimeout = 5000;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      this.#send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { allow: 'GET, HEAD' });
      return;
    }
    const metrics = this.#subject.metrics;
    switch (path) {
      case '/metrics':
        metrics.text().then(
          (text) => this.#send(response, 200, metrics.contentType, text),
          (error: unknown) => this.#send(response, 500, 'text/plain; charset=utf-8', `${String(error)}\n`),
        );
        return;
      case '/status.json':
        this.#send(response, 200, 'application/json', JSON.stringify(metrics.status()));
        return;
      case '/status':
      case '/':
        this.#send(response, 200, 'text/html; charset=utf-8', STATUS_PAGE);
        return;
      case '/healthz': {
        const serving = this.#subject.state === 'serving';
        this.#send(
          response,
          serving ? 200 : 503,
          'text/plain; charset=utf-8',
          `${serving ? 'ok' : this.#subject.state}\n`,
        );
        return;
      }
      case '/favicon.ico':
        // Browsers ask for it on every page load; a 204 keeps their consoles quiet.
        response.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
        return;
      default:
        this.#send(
          response,
          404,
          'text/plain; charset=utf-8',
          'not found: try /metrics, /status, /status.json, /healthz\n',
        );
    }
  }

  #send(
    response: ServerResponse,
    status: number,
    contentType: string,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    response.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      ...headers,
    });
    response.end(response.req.method === 'HEAD' ? undefined : body);
  }
}
