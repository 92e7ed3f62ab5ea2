import { tmpdir } from 'node:os';
import { DEFAULT_HTTP_FRONT_OPTIONS, type HttpFrontOptions } from '../http/http-front-options.js';

/**
 * The proxy's one typed config object (STYLE #6): defaults in this file only, validated eagerly by
 * config-validation.ts, frozen. Durations are milliseconds (`…Ms`), sizes bytes (`…Bytes`).
 * proxy/README.md has the table of every key (a test keeps the two in sync).
 */
export interface ProxyConfig {
  readonly listen: ListenConfig;
  /** environ server_name for requests without a host (HTTP/1.0 without Host). */
  readonly serverName: string;
  /** Peers (CIDRs or addresses) whose X-Forwarded-* and X-Request-Id are believed. */
  readonly trustedProxies: readonly string[];
  /** Client-side timeouts and limits, owned by the HTTP front (proxy/src/http/http-front-options.ts). */
  readonly http: HttpFrontOptions;
  /** Settings shared by every upstream group. */
  readonly upstream: UpstreamSettings;
  /** Upstream groups by name. */
  readonly upstreams: Readonly<Record<string, UpstreamGroupConfig>>;
  /** Routes by host and path prefix; see router.ts for precedence. */
  readonly routes: readonly RouteConfig[];
  readonly log: LogConfig;
  /** The admin listener (/metrics, /status): never the public port; null when turned off. */
  readonly admin: AdminConfig | null;
  /** After SIGTERM, how long in-flight requests may take before the proxy exits anyway. */
  readonly shutdownTimeoutMs: number;
}

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

export interface UpstreamSettings {
  /** nginx proxy_connect_timeout. */
  readonly connectTimeoutMs: number;
  /** SPEC §5.1: handshake completion. */
  readonly handshakeTimeoutMs: number;
  /** nginx proxy_read_timeout: time to the response head, and between response DATA frames. */
  readonly responseTimeoutMs: number;
  /** Idle time of an upgraded (WebSocket) tunnel. */
  readonly tunnelIdleTimeoutMs: number;
  /** PING health checks (SPEC §12.1); 0 turns them off. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** Requests that may wait when every worker is at max_streams; 0 answers 503 at once. */
  readonly queueLength: number;
  readonly queueTimeoutMs: number;
  /**
   * SPEC §6.4 (workers with queue slots): no request is queued in a worker whose last progress is
   * older than this, and its queued requests are recalled for a free worker.
   */
  readonly queueStallMs: number;
  /** Retry-After on 503 answers. */
  readonly retryAfterSeconds: number;
  /** Attempts for a request no worker processed (refused, above GOAWAY, connection lost before writing). */
  readonly maxAttempts: number;
  /** nginx max_fails: consecutive failures that eject a worker. */
  readonly maxFails: number;
  /** nginx fail_timeout: how long an ejected worker is left alone. */
  readonly failTimeoutMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /** Periodic rescan of socket directories (besides fs.watch). */
  readonly socketRescanMs: number;
  /** Re-resolution interval of tcp:// host names. */
  readonly dnsRefreshMs: number;
  /** HELLO max_frame_size the proxy advertises. */
  readonly maxFrameSize: number;
  /** HELLO initial_window the proxy advertises: per-stream response bytes a worker may send ahead. */
  readonly initialWindow: number;
  /** Buffered bodies: bytes in memory per body before spilling to a temporary file. */
  readonly bufferMemoryBytes: number;
  /** A buffered response holds at most this much unread; beyond it the worker is slowed down. */
  readonly bufferMaxBytes: number;
  /** Directory of temporary files for buffered bodies. */
  readonly tempDir: string;
}

export type BufferingSetting = 'auto' | 'on' | 'off';

export interface UpstreamGroupConfig {
  /** A socket directory watched for `*.sock` workers (SPEC §16). */
  readonly socketDir: string | null;
  /** Static Unix socket paths. */
  readonly sockets: readonly string[];
  /** `tcp://host:port` addresses; host names are re-resolved every dnsRefreshMs. */
  readonly tcp: readonly string[];
  /** Shared secret (SPEC §5.4); null for none. */
  readonly secret: string | null;
  /** `auto`: buffer for workers advertising max_streams ≤ bufferingThreshold. */
  readonly buffering: BufferingSetting;
  readonly bufferingThreshold: number;
}

export interface StaticRouteConfig {
  readonly root: string;
  readonly index: readonly string[] | null;
  readonly maxAgeSeconds: number | null;
}

export interface RouteConfig {
  /** Exact host or `*.example.com`; null for any host. */
  readonly host: string | null;
  /** Path prefix. */
  readonly path: string;
  /** Upstream group name, or null for a static route. */
  readonly upstream: string | null;
  readonly static: StaticRouteConfig | null;
  /** Pass the prefix to the app as script_name (WSGI SCRIPT_NAME). */
  readonly mount: boolean;
}

/** Where the admin listener (proxy/src/admin) accepts: loopback by default, never public. */
export interface AdminConfig {
  readonly host: string;
  readonly port: number;
}

export type LogFormat = 'auto' | 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogConfig {
  readonly level: LogLevel;
  /** `auto`: pretty on a TTY, JSON otherwise. */
  readonly format: LogFormat;
  /** One access-log line per request. */
  readonly access: boolean;
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];
export const BUFFERING_SETTINGS: readonly BufferingSetting[] = ['auto', 'on', 'off'];

export const DEFAULT_UPSTREAM_SETTINGS: Readonly<UpstreamSettings> = Object.freeze({
  connectTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  responseTimeoutMs: 60_000,
  tunnelIdleTimeoutMs: 300_000,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 30_000,
  queueLength: 1024,
  queueTimeoutMs: 30_000,
  queueStallMs: 20,
  retryAfterSeconds: 1,
  maxAttempts: 3,
  maxFails: 3,
  failTimeoutMs: 10_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 5000,
  socketRescanMs: 1000,
  dnsRefreshMs: 5000,
  maxFrameSize: 262_144,
  initialWindow: 262_144,
  bufferMemoryBytes: 65_536,
  bufferMaxBytes: 1_073_741_824,
  tempDir: tmpdir(),
});

export const DEFAULT_GROUP: Readonly<UpstreamGroupConfig> = Object.freeze({
  socketDir: null,
  sockets: [],
  tcp: [],
  secret: null,
  buffering: 'auto',
  bufferingThreshold: 4,
});

export const DEFAULT_CONFIG: Readonly<ProxyConfig> = Object.freeze({
  listen: Object.freeze({ host: '0.0.0.0', port: 8080 }),
  serverName: 'localhost',
  trustedProxies: [],
  http: DEFAULT_HTTP_FRONT_OPTIONS,
  upstream: DEFAULT_UPSTREAM_SETTINGS,
  upstreams: {},
  routes: [],
  log: Object.freeze({ level: 'info', format: 'auto', access: true }),
  admin: Object.freeze({ host: '127.0.0.1', port: 9090 }),
  shutdownTimeoutMs: 30_000,
});
