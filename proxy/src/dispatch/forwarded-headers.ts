import type { HeaderPairs } from '@gatewire/protocol';
import { isIP } from 'node:net';
import type { ConnectionInfo } from '../http/exchange.js';
import { unmapIPv4, type TrustedProxies } from './trusted-proxies.js';

/** What the proxy tells the worker about where a request came from (SPEC §7.2, §7.3). */
export interface Forwarding {
  /** environ client_addr: the peer, or from a trusted proxy the rightmost untrusted X-Forwarded-For entry. */
  readonly clientAddr: string;
  /** environ client_port: the peer's port when the peer is the client, else 0 (unknown). */
  readonly clientPort: number;
  /** environ scheme: the listener's, or a trusted proxy's X-Forwarded-Proto. */
  readonly scheme: 'http' | 'https';
  /** X-Forwarded-For to send: the peer alone (untrusted), or the incoming chain plus the peer (trusted); '' to send none. */
  readonly forwardedFor: string;
  /** X-Forwarded-Host to send; '' to send none. */
  readonly forwardedHost: string;
  /** A trusted proxy's X-Request-Id to adopt, or null. */
  readonly requestId: string | null;
}

/** Fields the proxy replaces rather than forwards (SPEC §7.3). */
export const REPLACED_FIELDS = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

const MAX_REQUEST_ID = 200;

/**
 * Works out the forwarding facts for one request. From an untrusted peer every X-Forwarded-* field
 * is ignored and replaced (never appended to); from a trusted peer the client is the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy (nginx real_ip_recursive on).
 */
export function resolveForwarding(
  connection: ConnectionInfo,
  headers: HeaderPairs,
  host: string,
  trusted: TrustedProxies,
): Forwarding {
  const peer = unmapIPv4(connection.remoteAddress);
  if (!trusted.has(peer)) {
    return {
      clientAddr: peer,
      clientPort: connection.remotePort,
      scheme: connection.scheme,
      forwardedFor: peer,
      forwardedHost: host,
      requestId: null,
    };
  }
  let xff = '';
  let proto = '';
  let xfh = '';
  let requestId: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (name === 'x-forwarded-for') {
      if (value.trim() !== '') xff = xff === '' ? value : `${xff}, ${value}`;
    } else if (name === 'x-forwarded-proto') {
      if (proto === '') proto = value;
    } else if (name === 'x-forwarded-host') {
      if (xfh === '') xfh = value;
    } else if (name === 'x-request-id') {
      if (requestId === null && isValidRequestId(value)) requestId = value;
    }
  }
  let clientAddr = peer;
  let clientPort = connection.remotePort;
  if (xff !== '') {
    const entries = xff.split(',');
    // Walk from the right: skip trusted hops; the first untrusted entry is the client.
    let client = '';
    let lastValid = peer;
    let allTrusted = true;
    for (let i = entries.length - 1; i >= 0; i--) {
      const address = parseForwardedAddress(entries[i]);
      if (address === null) {
        client = lastValid; // garbage left of here was written by the client itself
        allTrusted = false;
        break;
      }
      lastValid = address;
      if (!trusted.has(address)) {
        client = address;
        allTrusted = false;
        break;
      }
    }
    clientAddr = allTrusted ? lastValid : client;
    clientPort = 0;
  }
  const firstProto = proto.split(',')[0].trim().toLowerCase();
  return {
    clientAddr,
    clientPort,
    scheme: firstProto === 'https' || firstProto === 'http' ? firstProto : connection.scheme,
    forwardedFor: xff === '' ? peer : peer === '' ? xff : `${xff}, ${peer}`,
    forwardedHost: xfh !== '' ? xfh : host,
    requestId,
  };
}

/**
 * The forwarding fields the proxy sends for `forwarding` (SPEC §7.3): X-Forwarded-For (when there
 * is an address), X-Forwarded-Proto, X-Forwarded-Host (when there is a host).
 */
export function forwardingPairs(forwarding: Forwarding): HeaderPairs {
  const pairs: HeaderPairs = [];
  if (forwarding.forwardedFor !== '') pairs.push(['x-forwarded-for', forwarding.forwardedFor]);
  pairs.push(['x-forwarded-proto', forwarding.scheme]);
  if (forwarding.forwardedHost !== '') pairs.push(['x-forwarded-host', forwarding.forwardedHost]);
  return pairs;
}

/** One X-Forwarded-For entry as an IP: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`; null otherwise. */
export function parseForwardedAddress(entry: string): string | null {
  let text = entry.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return null;
    text = text.slice(1, end);
  } else if (isIP(text) === 0) {
    const colon = text.indexOf(':');
    if (colon > 0 && colon === text.lastIndexOf(':')) text = text.slice(0, colon); // IPv4 with port
  }
  text = unmapIPv4(text);
  return isIP(text) === 0 ? null : text;
}

/** 1…200 visible ASCII characters (SPEC §15: request_id at most 200 bytes). */
export function isValidRequestId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_REQUEST_ID) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}
