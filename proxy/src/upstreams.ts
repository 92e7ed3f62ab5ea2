import type { Logger } from 'pino';
import type { ProxyConfig, UpstreamGroupConfig } from './config/config.js';
import type { Discovery } from './upstream/discovery.js';
import { DnsDiscovery, type HostLookup } from './upstream/dns-discovery.js';
import { SocketDirDiscovery } from './upstream/socket-dir-discovery.js';
import { StaticDiscovery } from './upstream/static-discovery.js';
import { UpstreamGroup } from './upstream/upstream-group.js';
import { parseTcpUrl, type WorkerAddress } from './upstream/worker-address.js';

/** One configured upstream group with the discoveries that feed it. */
export interface Upstream {
  readonly group: UpstreamGroup;
  readonly discoveries: readonly Discovery[];
}

/** Builds every upstream group of the config (not started). `lookup` replaces DNS in tests. */
export function buildUpstreams(
  config: ProxyConfig,
  logger: Logger,
  lookup?: HostLookup,
): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  for (const [name, groupConfig] of Object.entries(config.upstreams)) {
    upstreams.set(name, buildUpstream(name, groupConfig, config, logger, lookup));
  }
  return upstreams;
}

function buildUpstream(
  name: string,
  groupConfig: UpstreamGroupConfig,
  config: ProxyConfig,
  logger: Logger,
  lookup: HostLookup | undefined,
): Upstream {
  const settings = config.upstream;
  const log = logger.child({ upstream: name });
  const group = new UpstreamGroup(name, {
    endpoint: {
      secret: groupConfig.secret === null ? null : Buffer.from(groupConfig.secret, 'utf8'),
      connectTimeoutMs: settings.connectTimeoutMs,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      pingIntervalMs: settings.pingIntervalMs,
      pingTimeoutMs: settings.pingTimeoutMs,
      maxFrameSize: settings.maxFrameSize,
      initialWindow: settings.initialWindow,
      reconnectBaseMs: settings.reconnectBaseMs,
      reconnectMaxMs: settings.reconnectMaxMs,
      maxFails: settings.maxFails,
      failTimeoutMs: settings.failTimeoutMs,
      logger: log,
    },
    queueLength: settings.queueLength,
    queueTimeoutMs: settings.queueTimeoutMs,
    queueStallMs: settings.queueStallMs,
    bufferingThreshold: groupConfig.bufferingThreshold,
    logger: log,
  });
  const discoveries: Discovery[] = [];
  if (groupConfig.socketDir !== null) {
    discoveries.push(
      new SocketDirDiscovery(groupConfig.socketDir, group, {
        rescanMs: settings.socketRescanMs,
        logger: log,
      }),
    );
  }
  const fixed: WorkerAddress[] = groupConfig.sockets.map((path) => ({ kind: 'unix', path }));
  if (fixed.length > 0) discoveries.push(new StaticDiscovery(group, fixed));
  for (const url of groupConfig.tcp) {
    const parsed = parseTcpUrl(url)!; // validated
    discoveries.push(
      new DnsDiscovery(parsed.host, parsed.port, group, {
        refreshMs: settings.dnsRefreshMs,
        logger: log,
        lookup,
      }),
    );
  }
  return { group, discoveries };
}
