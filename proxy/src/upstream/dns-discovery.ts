import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import type { UpstreamGroup } from './upstream-group.js';
import { addressLabel, type WorkerAddress } from './worker-address.js';

/** dns.promises.lookup with `all: true`, or a stand-in (tests). */
export type HostLookup = (hostname: string) => Promise<readonly string[]>;

export const systemLookup: HostLookup = async (hostname) => {
  const results = await dnsLookup(hostname, { all: true });
  return results.map((result) => result.address);
};

export interface DnsDiscoveryOptions {
  /** How often the name is resolved again. */
  readonly refreshMs: number;
  readonly logger: Logger;
  readonly lookup?: HostLookup;
}

function refresh(discovery: DnsDiscovery): void {
  void discovery.resolve();
}

/**
 * `tcp://host:port` with periodic re-resolution: every address the name resolves to is a worker (a
 * compose service scaled to N replicas resolves to N addresses). Addresses that disappear from the
 * answer are retired; a failed lookup keeps the last good set.
 */
export class DnsDiscovery implements Discovery {
  readonly host: string;
  readonly port: number;
  readonly #group: UpstreamGroup;
  readonly #options: DnsDiscoveryOptions;
  readonly #lookup: HostLookup;
  readonly #known = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #resolving = false;
  #stopped = false;
  #failing = false;

  constructor(host: string, port: number, group: UpstreamGroup, options: DnsDiscoveryOptions) {
    this.host = host;
    this.port = port;
    this.#group = group;
    this.#options = options;
    this.#lookup = options.lookup ?? systemLookup;
  }

  start(): void {
    this.#stopped = false;
    if (isIP(this.host) !== 0) {
      this.#apply([this.host]);
      return;
    }
    this.#timer = setInterval(refresh, this.#options.refreshMs, this);
    this.#timer.unref();
    void this.resolve();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Resolves now; resolves the returned promise when the endpoints are updated. */
  resolve(): Promise<void> {
    if (this.#resolving || this.#stopped) return Promise.resolve();
    this.#resolving = true;
    return this.#lookup(this.host).then(
      (addresses) => {
        this.#resolving = false;
        if (this.#failing) {
          this.#failing = false;
          this.#options.logger.info({ host: this.host }, 'worker host resolves again');
        }
        if (!this.#stopped && addresses.length > 0) this.#apply(addresses);
      },
      (error: unknown) => {
        this.#resolving = false;
        if (!this.#failing) {
          this.#failing = true;
          this.#options.logger.warn(
            { host: this.host, err: (error as Error).message, keeping: this.#known.size },
            'worker host lookup failed; keeping the addresses resolved before',
          );
        }
      },
    );
  }

  #apply(addresses: readonly string[]): void {
    const fresh = new Map<string, WorkerAddress>();
    for (const host of addresses) {
      const address: WorkerAddress = { kind: 'tcp', host, port: this.port };
      fresh.set(addressLabel(address), address);
    }
    for (const label of this.#known) {
      if (fresh.has(label)) continue;
      this.#known.delete(label);
      this.#group.remove(label, `${this.host} no longer resolves to it`);
    }
    for (const [label, address] of fresh) {
      if (this.#known.has(label)) continue;
      this.#known.add(label);
      this.#group.add(address);
    }
  }
}
