import type { Environ, HeaderPairs } from '@gatewire/protocol';
import type { Exchange } from '../http/exchange.js';
import { forwardingPairs, REPLACED_FIELDS, type Forwarding } from './forwarded-headers.js';
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
 * proxy replaces; then `extra` (fields the proxy adds), the proxy's own X-Forwarded-For/Proto/Host
 * (`forwarded`, from forwardingPairs) and X-Request-Id.
 *
 * One array of the exact size: kept pairs are found in one pass (the input's own pair arrays are
 * reused, not copied), and nothing grows an array on the way.
 */
export function forwardedRequestHeaders(
  headers: HeaderPairs,
  upgrade: boolean,
  forwarded: HeaderPairs,
  requestId: string,
  extra: HeaderPairs | null,
): HeaderPairs {
  const listed = connectionListedNames(headers);
  const count = headers.length;
  let keep = KEEP;
  if (keep.length < count) keep = KEEP = new Uint8Array(Math.max(count, keep.length * 2));
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const name = headers[i][0];
    let drop: boolean;
    if (isHopByHop(name)) drop = !upgrade || (name !== 'upgrade' && name !== 'connection');
    else drop = listed !== null && listed.has(name);
    // nginx underscores_in_headers off: `x_user` would alias `x-user` in CGI/WSGI.
    if (!drop) drop = name.includes('_') || REPLACED_FIELDS.has(name);
    keep[i] = drop ? 0 : 1;
    if (!drop) kept++;
  }
  const extraCount = extra === null ? 0 : extra.length;
  const out: HeaderPairs = new Array(kept + extraCount + forwarded.length + 1);
  let at = 0;
  for (let i = 0; i < count; i++) if (keep[i] === 1) out[at++] = headers[i];
  for (let i = 0; i < extraCount; i++) out[at++] = extra![i];
  for (let i = 0; i < forwarded.length; i++) out[at++] = forwarded[i];
  out[at] = ['x-request-id', requestId];
  return out;
}

/** Scratch for forwardedRequestHeaders' keep decisions (single-threaded, used within one call). */
let KEEP = new Uint8Array(64);

export interface EnvironParts {
  readonly forwarding: Forwarding;
  /** forwardingPairs(forwarding), when the caller has them already (ForwardingCache). */
  readonly forwardingPairs?: HeaderPairs;
  /** The request's server_name: serverNameOf(host, the configured name). */
  readonly serverName: string;
  /** WSGI SCRIPT_NAME of a mounted route, '' at the root. */
  readonly scriptName: string;
  /** The body length to announce (a buffered chunked body has a known length). */
  readonly bodyLength: number | null;
  /** Fields the proxy adds (content-length of a buffered chunked body). */
  readonly extraHeaders: HeaderPairs | null;
}

const SLASH = 0x2f;

/** Points every `host` field at `host` (new pairs: the input's pair arrays are shared). */
function replaceHost(headers: HeaderPairs, host: string): void {
  for (let i = 0; i < headers.length; i++) if (headers[i][0] === 'host') headers[i] = ['host', host];
}

/** Builds the environ of SPEC §7.2 for an exchange. */
export function buildEnviron(exchange: Exchange, parts: EnvironParts): Environ {
  const head = exchange.head;
  const connection = exchange.connection;
  const forwarding = parts.forwarding;
  const upgrade = head.upgrade;
  const headers = forwardedRequestHeaders(
    head.headers,
    upgrade !== '',
    parts.forwardingPairs ?? forwardingPairs(forwarding),
    exchange.requestId,
    parts.extraHeaders,
  );
  // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host. The app must see the
  // host the proxy routed by, not a second one the client put in Host.
  if (head.target.charCodeAt(0) !== SLASH && head.host !== '') replaceHost(headers, head.host);
  return {
    method: head.method,
    target: head.target,
    path: head.path,
    query: head.query,
    httpVersion: head.httpVersion,
    headers,
    scheme: forwarding.scheme,
    clientAddr: forwarding.clientAddr,
    clientPort: forwarding.clientPort,
    serverAddr: connection.localAddress,
    serverPort: connection.localPort,
    serverName: parts.serverName,
    requestId: exchange.requestId,
    bodyLength: parts.bodyLength,
    scriptName: parts.scriptName,
    upgrade,
  };
}
