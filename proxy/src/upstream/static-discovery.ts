import type { Discovery } from './discovery.js';
import type { UpstreamGroup } from './upstream-group.js';
import type { WorkerAddress } from './worker-address.js';

/** Fixed addresses from the config: Unix socket paths, or TCP IP literals. */
export class StaticDiscovery implements Discovery {
  readonly #group: UpstreamGroup;
  readonly #addresses: readonly WorkerAddress[];

  constructor(group: UpstreamGroup, addresses: readonly WorkerAddress[]) {
    this.#group = group;
    this.#addresses = addresses;
  }

  start(): void {
    for (const address of this.#addresses) this.#group.add(address);
  }

  stop(): void {}
}
