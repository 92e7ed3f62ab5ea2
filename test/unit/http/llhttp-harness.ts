import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One request node's parser (llhttp, via node:http with default options) completed. */
export interface LlhttpRequest {
  readonly method: string;
  readonly target: string;
  /** [lowercased name, value] pairs as received. */
  readonly headers: Array<[string, string]>;
  readonly body: string;
  readonly trailers: Array<[string, string]>;
}

/** What llhttp made of the bytes sent on one connection. */
export interface LlhttpVerdict {
  /** Requests it completed (head and whole body), in order. */
  readonly requests: LlhttpRequest[];
  /** Heads it accepted, complete or not. */
  readonly heads: number;
  /** Its error code if it refused something (after `requests`), else null. */
  readonly error: string | null;
}

class ConnectionRecord implements LlhttpVerdict {
  requests: LlhttpRequest[] = [];
  heads = 0;
  error: string | null = null;
  onChange: (() => void) | null = null;

  changed(): void {
    this.onChange?.();
  }
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]);
  return out;
}

/** How long without news from llhttp counts as "it waits for more bytes". */
const QUIET_MS = 100;

/**
 * A node:http server that records, per client connection, what llhttp parsed: complete requests
 * and the error that stopped it. Everything runs in this process, so the verdict is read directly
 * rather than through responses (which a parse error on pipelined bytes could cut short).
 */
export class LlhttpOracle {
  #server: Server | null = null;
  #port = 0;
  #records = new Map<number, ConnectionRecord>();

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      const record = this.#records.get(socket.remotePort ?? -1);
      if (record !== undefined && record.error === null) {
        record.error = error.code ?? 'error';
        record.changed();
      }
      socket.destroy();
    });
    server.on('connect', (req: IncomingMessage, socket: Socket) => {
      const record = this.#records.get(socket.remotePort ?? -1);
      if (record !== undefined) {
        record.error = 'CONNECT';
        record.changed();
      }
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#server = null;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const record = this.#records.get(req.socket.remotePort ?? -1);
    if (record === undefined) return;
    record.heads++;
    record.changed();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      record.requests.push({
        method: req.method ?? '',
        target: req.url ?? '',
        headers: pairs(req.rawHeaders),
        body: Buffer.concat(chunks).toString('latin1'),
        trailers: pairs(req.rawTrailers),
      });
      record.changed();
      res.writeHead(204);
      res.end();
    });
  }

  /**
   * Sends `input` on a fresh connection; resolves when llhttp refused it, completed `expected`
   * requests, or went quiet (waiting for bytes that will not come).
   */
  judge(input: Buffer, expected = 1): Promise<LlhttpVerdict> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.#port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('connect', () => {
        const port = socket.localPort ?? -1;
        const record = new ConnectionRecord();
        this.#records.set(port, record);
        let quiet: NodeJS.Timeout | null = null;
        const finish = (): void => {
          if (quiet !== null) clearTimeout(quiet);
          record.onChange = null;
          this.#records.delete(port);
          socket.destroy();
          resolve({ requests: record.requests, heads: record.heads, error: record.error });
        };
        const check = (): void => {
          if (record.error !== null || record.requests.length >= expected) {
            finish();
            return;
          }
          if (quiet !== null) clearTimeout(quiet);
          quiet = setTimeout(finish, QUIET_MS);
        };
        record.onChange = check;
        // node:http answers some refusals itself (missing Host: 400, unknown Expect: 417) with no event.
        socket.on('data', (chunk: Buffer) => {
          for (const match of chunk.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
            if (match[1] !== '204' && match[1] !== '100' && record.error === null) {
              record.error = `STATUS_${match[1]}`;
              check();
            }
          }
        });
        socket.write(input, (error) => {
          if (error) reject(error);
          else check();
        });
      });
    });
  }
}
