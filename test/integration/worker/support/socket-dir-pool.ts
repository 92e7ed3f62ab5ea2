/**
 * What the proxy does with a socket directory, reduced to what the worker tests need (SPEC §11,
 * §16): connect to every `*.sock`, spread requests over them, stop using a connection after its
 * GOAWAY, and retry requests the worker refused (REFUSED_STREAM, or above GOAWAY's last_stream:
 * never processed). Anything else
 * that ends a request without a complete response counts as a failure.
 */
import { ErrorCode } from '@gatewire/protocol';
import { ProtocolClient, type RequestSpec, type StreamResult } from './protocol-client.js';
import { socketsIn } from './worker-harness.js';

export class SocketDirPool {
  readonly dir: string;
  retries = 0;
  failures: Array<{ spec: RequestSpec; result: StreamResult | null; error?: string }> = [];
  #clients = new Map<string, ProtocolClient>();
  #connecting = new Map<string, Promise<ProtocolClient | null>>();
  #next = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** One request, retried on refusal (up to `attempts`); resolves with the final result. */
  async request(spec: RequestSpec, attempts = 20): Promise<StreamResult | null> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const client = await this.#pick();
      if (client === null) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const stream = client.request(spec);
      const result = await stream.result();
      if (result.reset !== null && result.reset.code === ErrorCode.REFUSED_STREAM) {
        this.retries++;
        continue;
      }
      // SPEC §11: streams above GOAWAY's last_stream were never processed; treat them as refused.
      if (
        result.reset !== null &&
        result.status === 0 &&
        client.goaway !== null &&
        stream.id > client.goaway.lastStream
      ) {
        this.retries++;
        continue;
      }
      if (result.reset !== null || result.status === 0) {
        this.failures.push({ spec, result });
        return result;
      }
      return result;
    }
    this.failures.push({ spec, result: null, error: `no worker took the request in ${attempts} attempts` });
    return null;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  async #pick(): Promise<ProtocolClient | null> {
    const paths = socketsIn(this.dir);
    for (const [path, client] of this.#clients) {
      // After GOAWAY the proxy opens no new streams on a connection (SPEC §11).
      if (client.goaway !== null || client.isClosed || !paths.includes(path)) this.#clients.delete(path);
    }
    if (paths.length === 0) return null;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[this.#next++ % paths.length];
      const existing = this.#clients.get(path);
      if (existing !== undefined) return existing;
      const client = await this.#connect(path);
      if (client !== null) return client;
    }
    return null;
  }

  #connect(path: string): Promise<ProtocolClient | null> {
    let pending = this.#connecting.get(path);
    if (pending === undefined) {
      pending = ProtocolClient.connect(path)
        .then((client) => {
          this.#clients.set(path, client);
          return client;
        })
        .catch(() => null) // removed between listing and connecting: a draining worker
        .finally(() => this.#connecting.delete(path));
      this.#connecting.set(path, pending);
    }
    return pending;
  }
}
