/** Routing, request forwarding and the header rules of SPEC §7.3 and §8.1. */
export {
  GatewireDispatcher,
  type DispatcherOptions,
  type RouteTarget,
  type StaticHandler,
} from './dispatcher.js';
export {
  ProxiedRequest,
  type BufferingMode,
  type RequestContext,
  type UpstreamRoute,
} from './proxied-request.js';
export { Router, type RouteSpec, type RouteMatch } from './router.js';
export { buildEnviron, forwardedRequestHeaders, serverNameOf, type EnvironParts } from './environ-builder.js';
export {
  resolveForwarding,
  parseForwardedAddress,
  isValidRequestId,
  REPLACED_FIELDS,
  type Forwarding,
} from './forwarded-headers.js';
export { TrustedProxies, parseCidr, unmapIPv4 } from './trusted-proxies.js';
export { isHopByHop, connectionListedNames, stripResponseHopByHop } from './hop-by-hop.js';
export { validateResponseHead, isToken, isSafeFieldText } from './response-head-validation.js';
export { BodySpool, type SpoolOptions, type SpoolSink } from './body-spool.js';
