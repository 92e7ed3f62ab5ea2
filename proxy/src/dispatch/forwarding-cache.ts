import type { HeaderPairs } from '@gatewire/protocol';
import type { ConnectionInfo } from '../http/exchange.js';
import { forwardingPairs, resolveForwarding, type Forwarding } from './forwarded-headers.js';
import { unmapIPv4, type TrustedProxies } from './trusted-proxies.js';

/** A request's forwarding facts and the X-Forwarded-* pairs that follow from them. */
export interface ResolvedForwarding {
  readonly forwarding: Forwarding;
  readonly pairs: HeaderPairs;
}

/** What one client connection's requests share. */
class PeerForwarding {
  /** The last answer for an untrusted peer, and the host it was for. */
  resolved: ResolvedForwarding | null = null;
  host = '';

  constructor(readonly trusted: boolean) {}
}

/**
 * resolveForwarding, remembered per client connection: whether the peer is a trusted proxy is a
 * fact of the connection (a BlockList lookup per request otherwise), and for an untrusted peer
 * everything else depends only on the Host, which keep-alive clients repeat. So the requests of a
 * connection share one Forwarding and one set of X-Forwarded-* pairs (nothing per request). A
 * trusted peer's requests are resolved each time: their X-Forwarded-* fields vary.
 *
 * Entries live as long as their connection's ConnectionInfo (a WeakMap).
 */
export class ForwardingCache {
  readonly #trusted: TrustedProxies;
  readonly #peers = new WeakMap<ConnectionInfo, PeerForwarding>();

  constructor(trusted: TrustedProxies) {
    this.#trusted = trusted;
  }

  resolve(connection: ConnectionInfo, headers: HeaderPairs, host: string): ResolvedForwarding {
    let peer = this.#peers.get(connection);
    if (peer === undefined) {
      peer = new PeerForwarding(this.#trusted.has(unmapIPv4(connection.remoteAddress)));
      this.#peers.set(connection, peer);
    }
    if (!peer.trusted && peer.resolved !== null && peer.host === host) return peer.resolved;
    const forwarding = resolveForwarding(connection, headers, host, this.#trusted);
    const resolved: ResolvedForwarding = { forwarding, pairs: forwardingPairs(forwarding) };
    if (!peer.trusted) {
      peer.resolved = resolved;
      peer.host = host;
    }
    return resolved;
  }
}
