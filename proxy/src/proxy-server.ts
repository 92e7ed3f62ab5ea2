import type { Logger } from 'pino';
import type { ProxyConfig } from './config/config.js';
import { GatewireDispatcher, type RouteTarget, type StaticHandler } from './dispatch/dispatcher.js';
import { Router, type RouteSpec } from './dispatch/router.js';
import { TrustedProxies } from './dispatch/trusted-proxies.js';
import { HttpFront } from './http/http-front.js';
import { AccessLog } from './log/access-log.js';
import { ProxyMetrics } from './metrics/proxy-metrics.js';
import { StaticFiles } from './static/static-files.js';
import type { HostLookup } from './upstream/dns-discovery.js';
import type { UpstreamGroup } from './upstream/upstream-group.js';
import { buildUpstreams, type Upstream } from './upstreams.js';

export interface GatewireProxyOptions {
  readonly logger: Logger;
  /** Replaces DNS for tcp:// upstreams (tests). */
  readonly lookup?: HostLookup;
}

/**
 * The whole proxy: the HTTP front, and behind it the upstream groups with their discovery, the
 * router, the dispatcher and the access log, with one lifecycle (STYLE #7):
 * new → serving (listen) → draining (shutdown) → closed.
 */
export class GatewireProxy {
  readonly config: ProxyConfig;
  readonly dispatcher: GatewireDispatcher;
  readonly accessLog: AccessLog;
  /** The metric set behind the admin listener; null when `admin` is off (nothing is counted). */
  readonly metrics: ProxyMetrics | null;
  readonly front: HttpFront;
  readonly #upstreams: Map<string, Upstream>;
  readonly #log: Logger;
  #state: 'new' | 'serving' | 'draining' | 'closed' = 'new';

  constructor(config: ProxyConfig, options: GatewireProxyOptions) {
    this.config = config;
    this.#log = options.logger;
    this.#upstreams = buildUpstreams(config, options.logger, options.lookup);
    const specs: Array<RouteSpec<RouteTarget>> = config.routes.map((route) => {
      let target: RouteTarget;
      if (route.static !== null) {
        const files: StaticHandler = new StaticFiles({
          root: route.static.root,
          ...(route.static.index !== null ? { index: [...route.static.index] } : {}),
          ...(route.static.maxAgeSeconds !== null ? { maxAgeSeconds: route.static.maxAgeSeconds } : {}),
        });
        target = { kind: 'static', files };
      } else {
        const name = route.upstream!;
        const groupConfig = config.upstreams[name];
        target = {
          kind: 'upstream',
          route: {
            group: this.#upstreams.get(name)!.group,
            buffering: groupConfig.buffering,
            bufferingThreshold: groupConfig.bufferingThreshold,
            // SPEC §7.2: a mounted route's prefix, without its trailing slash, is the script_name.
            scriptName: route.mount ? route.path.replace(/\/+$/, '') : '',
          },
        };
      }
      return { host: route.host ?? undefined, path: route.path, target };
    });
    const settings = config.upstream;
    this.accessLog = new AccessLog(options.logger, config.log.access);
    const accessObserver = config.log.access ? this.accessLog : null;
    this.metrics =
      config.admin === null
        ? null
        : new ProxyMetrics(
            {
              groups: () => this.groups,
              staticRoutes: config.routes.some((route) => route.static !== null),
              inFlight: () => this.dispatcher.inFlight,
            },
            accessObserver,
          );
    this.dispatcher = new GatewireDispatcher({
      router: new Router(specs),
      trustedProxies: new TrustedProxies(config.trustedProxies),
      serverName: config.serverName,
      responseTimeoutMs: settings.responseTimeoutMs,
      tunnelIdleTimeoutMs: settings.tunnelIdleTimeoutMs,
      maxAttempts: settings.maxAttempts,
      retryAfterSeconds: settings.retryAfterSeconds,
      bufferMemoryBytes: settings.bufferMemoryBytes,
      bufferMaxBytes: settings.bufferMaxBytes,
      tempDir: settings.tempDir,
      logger: options.logger,
      ...(this.metrics !== null ? { outcomes: this.metrics.upstream } : {}),
    });
    this.front = new HttpFront({
      dispatcher: this.dispatcher,
      // Metrics count every record and pass it on to the access log. Neither: the front then
      // builds no record per request.
      observer: this.metrics?.requests ?? accessObserver,
      options: config.http,
      onInternalError: (error) => this.#log.error({ err: error }, 'internal error in the HTTP front'),
    });
  }

  get state(): 'new' | 'serving' | 'draining' | 'closed' {
    return this.#state;
  }

  group(name: string): UpstreamGroup | undefined {
    return this.#upstreams.get(name)?.group;
  }

  get groups(): UpstreamGroup[] {
    return [...this.#upstreams.values()].map((upstream) => upstream.group);
  }

  /** Starts discovery: workers are connected as they are found. */
  start(): void {
    if (this.#state !== 'new') throw new Error(`cannot start a proxy that is ${this.#state}`);
    this.#state = 'serving';
    this.metrics?.start();
    for (const upstream of this.#upstreams.values())
      for (const discovery of upstream.discoveries) discovery.start();
  }

  /** Starts discovery and accepts clients on config.listen. Resolves once listening. */
  async listen(): Promise<void> {
    this.start();
    await this.front.listen({ host: this.config.listen.host, port: this.config.listen.port });
    const address = this.address;
    this.#log.info(
      { address: address ? `${address.host}:${address.port}` : null, upstreams: [...this.#upstreams.keys()] },
      'gatewire proxy listening',
    );
  }

  /** The bound TCP address, or null before listen(). */
  get address(): { host: string; port: number } | null {
    const address = this.front.address();
    if (address === null || typeof address === 'string') return null;
    return { host: address.address, port: address.port };
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (up to shutdownTimeoutMs, then
   * they are cut), then GOAWAY every worker connection and close it when its streams are done.
   */
  async shutdown(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#log.info({ graceMs: this.config.shutdownTimeoutMs }, 'shutting down: finishing requests in flight');
    await this.front.close({ graceMs: this.config.shutdownTimeoutMs });
    await this.drain();
  }

  /**
   * Graceful (after the front stopped accepting): new exchanges get 503, in-flight requests finish,
   * then every worker connection gets GOAWAY (SPEC §11) and closes when its streams are done.
   */
  async drain(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'draining') return;
    this.#state = 'draining';
    this.dispatcher.stopAccepting();
    await this.dispatcher.idle();
    for (const upstream of this.#upstreams.values())
      for (const discovery of upstream.discoveries) discovery.stop();
    await Promise.all([...this.#upstreams.values()].map((upstream) => upstream.group.close()));
    this.dispatcher.close();
    this.metrics?.stop();
    this.accessLog.flush();
    this.#state = 'closed';
    this.#log.info('upstreams closed');
  }

  /** Forced: closes every worker connection now; requests in flight fail. */
  destroy(): void {
    void this.front.close({ graceMs: 0 });
    for (const upstream of this.#upstreams.values()) {
      for (const discovery of upstream.discoveries) discovery.stop();
      upstream.group.destroy();
    }
    this.dispatcher.close();
    this.metrics?.stop();
    this.accessLog.flush();
    this.#state = 'closed';
  }
}
