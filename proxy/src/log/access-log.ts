import type { Logger } from 'pino';
import type { ConnectionInfo, ExchangeObserver, ExchangeRecord } from '../http/exchange.js';

/**
 * One JSON line per request, from the HTTP front's ExchangeObserver (nginx's access_log):
 * method, path (without the query, which may carry tokens), status, bytes in and out, duration,
 * upstream (a worker's socket, 'static', '-'), request id and client. No headers at all, so no
 * credentials.
 */
export class AccessLog implements ExchangeObserver {
  readonly #log: Logger;
  readonly #enabled: boolean;

  constructor(logger: Logger, enabled: boolean) {
    this.#log = logger.child({ log: 'access' });
    this.#enabled = enabled;
  }

  onExchangeComplete(record: ExchangeRecord): void {
    if (!this.#enabled) return;
    const exchange = record.exchange;
    const head = exchange.head;
    this.#log.info(
      {
        requestId: exchange.requestId,
        method: head.method,
        path: head.path,
        status: record.status,
        bytesIn: record.bytesIn,
        bytesOut: record.bytesOut,
        durationMs: Math.round(record.durationMs * 10) / 10,
        upstream: exchange.upstream,
        client: exchange.connection.remoteAddress,
        aborted: record.aborted ?? undefined,
        error: record.error ?? undefined,
      },
      'request',
    );
  }

  onRequestRejected(status: number, reason: string, connection: ConnectionInfo): void {
    if (!this.#enabled) return;
    this.#log.info({ status, reason, client: connection.remoteAddress }, 'request rejected');
  }
}
