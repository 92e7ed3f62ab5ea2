import type { Environ, HeaderPairs } from '@gatewire/protocol';
import type { Exchange } from '../http/exchange.js';
import { REPLACED_FIELDS, type Forwarding } from './forwarded-headers.js';
import { connectionListedNames, isHopByHop } from './hop-by-hop.js';

/**
 * The server_name of SPEC §7.2: the host part of the effective host, lowercased, port removed
 * (an IPv6 literal keeps its brackets); `fallback` when the request named no host.
 */
export function serverNameOf(host: string, fallback: string): string {
  if (host === '') return fallback;
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) end = colon;
  }
  return host.slice(0, end).toLowerCase();
}

/**
 * The header pairs a worker sees (SPEC §7.3): in order, without hop-by-hop fields (an upgrade keeps
 * `upgrade` and `connection`), without names containing `_`, without the forwarding fields the
 * proxy replaces; then the proxy's own X-Forwarded-For/Proto/Host and X-Request-Id.
 */
export function forwardedRequestHeaders(
  headers: HeaderPairs,
  upgrade: boolean,
  forwarding: Forwarding,
  requestId: string,
  extra: HeaderPairs | null,
): HeaderPairs {
  const listed = connectionListedNames(headers);
  const out: HeaderPairs = [];
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    const name = pair[0];
    if (isHopByHop(name)) {
      if (!upgrade || (name !== 'upgrade' && name !== 'connection')) continue;
    } else if (listed !== null && listed.has(name)) continue;
    // nginx underscores_in_headers off: `x_user` would alias `x-user` in CGI/WSGI.
    if (name.includes('_') || REPLACED_FIELDS.has(name)) continue;
    out.push(pair);
  }
  if (extra !== null) for (const pair of extra) out.push(pair);
  if (forwarding.forwardedFor !== '') out.push(['x-forwarded-for', forwarding.forwardedFor]);
  out.push(['x-forwarded-proto', forwarding.scheme]);
  if (forwarding.forwardedHost !== '') out.push(['x-forwarded-host', forwarding.forwardedHost]);
  out.push(['x-request-id', requestId]);
  return out;
}

export interface EnvironParts {
  readonly forwarding: Forwarding;
  /** Used when the request has no host (HTTP/1.0 without Host). */
  readonly serverName: string;
  /** WSGI SCRIPT_NAME of a mounted route, '' at the root. */
  readonly scriptName: string;
  /** The body length to announce (a buffered chunked body has a known length). */
  readonly bodyLength: number | null;
  /** Fields the proxy adds (content-length of a buffered chunked body). */
  readonly extraHeaders: HeaderPairs | null;
}

/** Builds the environ of SPEC §7.2 for an exchange. */
export function buildEnviron(exchange: Exchange, parts: EnvironParts): Environ {
  const head = exchange.head;
  const connection = exchange.connection;
  const forwarding = parts.forwarding;
  const upgrade = head.upgrade;
  return {
    method: head.method,
    target: head.target,
    path: head.path,
    query: head.query,
    httpVersion: head.httpVersion,
    headers: forwardedRequestHeaders(
      head.headers,
      upgrade !== '',
      forwarding,
      exchange.requestId,
      parts.extraHeaders,
    ),
    scheme: forwarding.scheme,
    clientAddr: forwarding.clientAddr,
    clientPort: forwarding.clientPort,
    serverAddr: connection.localAddress,
    serverPort: connection.localPort,
    serverName: serverNameOf(head.host, parts.serverName),
    requestId: exchange.requestId,
    bodyLength: parts.bodyLength,
    scriptName: parts.scriptName,
    upgrade,
  };
}
