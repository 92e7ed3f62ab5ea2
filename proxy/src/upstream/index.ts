/** Worker connections, endpoints, groups, balancing and discovery (SPEC §2–§12, §16). */
export {
  WorkerConnection,
  type WorkerConnectionOptions,
  type ConnectionOwner,
  type ConnectionFailure,
  type ConnectionFailureKind,
} from './worker-connection.js';
export { WorkerStream, type StreamListener, type StreamFailure } from './worker-stream.js';
export {
  WorkerEndpoint,
  type WorkerEndpointOptions,
  type EndpointOwner,
  type WorkerStatus,
} from './worker-endpoint.js';
export { UpstreamGroup, type UpstreamGroupOptions, type UpstreamWaiter } from './upstream-group.js';
export { pickLeastLoaded, type Balanceable } from './least-loaded.js';
export { WaitQueue, type QueueNode } from './wait-queue.js';
export { Backoff } from './backoff.js';
export { addressLabel, parseTcpUrl, type WorkerAddress } from './worker-address.js';
export type { Discovery } from './discovery.js';
export { SocketDirDiscovery, type SocketDirDiscoveryOptions } from './socket-dir-discovery.js';
export { DnsDiscovery, systemLookup, type DnsDiscoveryOptions, type HostLookup } from './dns-discovery.js';
export { StaticDiscovery } from './static-discovery.js';
