import { isAbsolute } from 'node:path';
import {
  DEFAULT_HTTP_FRONT_OPTIONS,
  resolveHttpFrontOptions,
  type HttpFrontOptions,
} from '../http/http-front-options.js';
import { parseCidr } from '../dispatch/trusted-proxies.js';
import { parseTcpUrl } from '../upstream/worker-address.js';
import {
  BUFFERING_SETTINGS,
  DEFAULT_CONFIG,
  DEFAULT_GROUP,
  DEFAULT_UPSTREAM_SETTINGS,
  LOG_FORMATS,
  LOG_LEVELS,
  type AdminConfig,
  type BufferingSetting,
  type ListenConfig,
  type LogConfig,
  type ProxyConfig,
  type RouteConfig,
  type StaticRouteConfig,
  type UpstreamGroupConfig,
  type UpstreamSettings,
} from './config.js';
import { ConfigError } from './config-error.js';

/**
 * Keys that were renamed (or that people coming from nginx reach for): the error says what to use.
 * `*` stands for any upstream name.
 */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  'listen.address': 'listen.host',
  'listen.bind': 'listen.host',
  trustedProxy: 'trustedProxies',
  realIpFrom: 'trustedProxies',
  'upstream.timeoutMs': 'upstream.responseTimeoutMs',
  'upstream.readTimeoutMs': 'upstream.responseTimeoutMs',
  'upstream.proxyReadTimeoutMs': 'upstream.responseTimeoutMs',
  'upstream.retries': 'upstream.maxAttempts',
  'upstream.queueSize': 'upstream.queueLength',
  'http.maxBodySize': 'http.maxBodyBytes',
  'http.clientMaxBodySize': 'http.maxBodyBytes',
  'http.maxHeaderSize': 'http.maxHeaderBytes',
  'log.accessLog': 'log.access',
  'admin.address': 'admin.listen',
  'admin.bind': 'admin.listen',
  'upstreams.*.socketDirectory': 'upstreams.*.socketDir',
  'upstreams.*.socket': 'upstreams.*.sockets',
  'upstreams.*.servers': 'upstreams.*.tcp',
  'routes.*.prefix': 'routes.*.path',
  'routes.*.location': 'routes.*.path',
};

type Plain = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one section: refuses unknown and renamed keys, hands known ones to typed readers. */
class Section {
  readonly #source: string;
  readonly #path: string;
  readonly #pattern: string;
  readonly #input: Plain;

  constructor(source: string, path: string, pattern: string, input: unknown) {
    this.#source = source;
    this.#path = path;
    this.#pattern = pattern;
    if (!isPlainObject(input)) throw this.error(path, `must be an object, got ${describe(input)}`);
    this.#input = input;
  }

  /** Throws on the first key not in `known`. */
  checkKeys(known: readonly string[]): void {
    for (const key of Object.keys(this.#input)) {
      if (known.includes(key)) continue;
      const full = this.#join(key);
      const renamed = RENAMED_KEYS[this.#joinPattern(key)];
      if (renamed !== undefined) {
        // Renames stay within their section: `upstreams.*.socket` → `upstreams.web.sockets`.
        const target = renamed.includes('*')
          ? this.#join(renamed.slice(renamed.lastIndexOf('.') + 1))
          : renamed;
        throw new ConfigError(
          'RENAMED_KEY',
          full,
          `${this.#source}: ${full} is not a key; use ${target} instead`,
        );
      }
      throw new ConfigError(
        'UNKNOWN_KEY',
        full,
        `${this.#source}: unknown key ${full} (known keys${this.#path ? ` of ${this.#path}` : ''}: ${known.join(', ')})`,
      );
    }
  }

  has(key: string): boolean {
    return this.#input[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.#input[key];
  }

  error(key: string, problem: string): ConfigError {
    return new ConfigError('INVALID_VALUE', key, `${this.#source}: ${key} ${problem}`);
  }

  path(key: string): string {
    return this.#join(key);
  }

  int(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.#input[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}…${max}`;
      throw this.error(this.#join(key), `must be an integer ${range}, got ${describe(value)}`);
    }
    return value;
  }

  string(key: string, fallback: string, nonEmpty = false): string {
    const value = this.#input[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || (nonEmpty && value === '')) {
      throw this.error(
        this.#join(key),
        `must be a ${nonEmpty ? 'non-empty ' : ''}string, got ${describe(value)}`,
      );
    }
    return value;
  }

  optionalString(key: string): string | null {
    const value = this.#input[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value === '') {
      throw this.error(this.#join(key), `must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.#input[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean')
      throw this.error(this.#join(key), `must be true or false, got ${describe(value)}`);
    return value;
  }

  oneOf<T extends string>(key: string, fallback: T, values: readonly T[]): T {
    const value = this.#input[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !values.includes(value as T)) {
      throw this.error(
        this.#join(key),
        `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`,
      );
    }
    return value as T;
  }

  /** A list of strings, each checked by `check` (returns a problem or null). */
  strings(
    key: string,
    fallback: readonly string[],
    check: (item: string) => string | null = () => null,
  ): string[] {
    const value = this.#input[key];
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value))
      throw this.error(this.#join(key), `must be an array of strings, got ${describe(value)}`);
    return value.map((item, index) => {
      if (typeof item !== 'string') {
        throw this.error(`${this.#join(key)}[${index}]`, `must be a string, got ${describe(item)}`);
      }
      const problem = check(item);
      if (problem !== null) throw this.error(`${this.#join(key)}[${index}]`, problem);
      return item;
    });
  }

  #join(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  #joinPattern(key: string): string {
    return this.#pattern === '' ? key : `${this.#pattern}.${key}`;
  }
}

const TOP_KEYS = [
  'listen',
  'serverName',
  'trustedProxies',
  'http',
  'upstream',
  'upstreams',
  'routes',
  'log',
  'admin',
  'shutdownTimeoutMs',
];
const ADMIN_KEYS = ['listen'];
const LISTEN_KEYS = ['host', 'port'];
const UPSTREAM_KEYS = Object.keys(DEFAULT_UPSTREAM_SETTINGS);
const GROUP_KEYS = Object.keys(DEFAULT_GROUP);
const ROUTE_KEYS = ['host', 'path', 'upstream', 'static', 'mount'];
const STATIC_KEYS = ['root', 'index', 'maxAgeSeconds'];
const LOG_KEYS = ['level', 'format', 'access'];
const GROUP_NAME = /^[A-Za-z0-9_.-]+$/;
const HOST_PATTERN =
  /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/;

/** Keys of UpstreamSettings that are durations (ms) and may be 0 only where noted. */
const UPSTREAM_MINIMUM: Readonly<Record<keyof UpstreamSettings, number>> = {
  connectTimeoutMs: 1,
  handshakeTimeoutMs: 1,
  responseTimeoutMs: 1,
  tunnelIdleTimeoutMs: 1,
  pingIntervalMs: 0,
  pingTimeoutMs: 1,
  queueLength: 0,
  queueTimeoutMs: 1,
  queueStallMs: 1,
  retryAfterSeconds: 0,
  maxAttempts: 1,
  maxFails: 1,
  failTimeoutMs: 1,
  reconnectBaseMs: 1,
  reconnectMaxMs: 1,
  socketRescanMs: 10,
  dnsRefreshMs: 100,
  maxFrameSize: 65_536,
  initialWindow: 1024,
  bufferMemoryBytes: 0,
  bufferMaxBytes: 1,
  tempDir: 0,
};
const UPSTREAM_MAXIMUM: Partial<Record<keyof UpstreamSettings, number>> = {
  maxFrameSize: 16_777_215, // SPEC §15
  initialWindow: 2_147_483_647,
};

/**
 * Validates a raw config (the parsed JSON file merged with env and flags) and returns the frozen,
 * fully defaulted ProxyConfig. Throws ConfigError naming the key: unknown keys, renamed keys (with
 * what to use instead), and bad values (with what was expected).
 */
export function validateConfig(input: unknown, source = 'config'): ProxyConfig {
  const top = new Section(source, '', '', input ?? {});
  top.checkKeys(TOP_KEYS);

  const listen = readListen(
    top.has('listen') ? new Section(source, 'listen', 'listen', top.raw('listen')) : null,
  );
  const serverName = top.string('serverName', DEFAULT_CONFIG.serverName, true);
  const trustedProxies = top.strings('trustedProxies', [], (entry) =>
    parseCidr(entry) === null
      ? `must be an IP address or CIDR (10.0.0.0/8, fd00::/8), got ${JSON.stringify(entry)}`
      : null,
  );
  const http = readHttp(source, top.raw('http'));
  const upstream = readUpstreamSettings(
    top.has('upstream') ? new Section(source, 'upstream', 'upstream', top.raw('upstream')) : null,
  );
  const upstreams = readGroups(source, top.raw('upstreams'));
  const routes = readRoutes(source, top.raw('routes'), upstreams);
  const log = readLog(top.has('log') ? new Section(source, 'log', 'log', top.raw('log')) : null);
  const shutdownTimeoutMs = top.int('shutdownTimeoutMs', DEFAULT_CONFIG.shutdownTimeoutMs, 0);
  const admin = readAdmin(source, top.raw('admin'), listen);

  const groupNames = Object.keys(upstreams);
  if (groupNames.length === 0) {
    throw new ConfigError(
      'INVALID_VALUE',
      'upstreams',
      `${source}: upstreams must name at least one upstream group (or pass --socket-dir / --upstream)`,
    );
  }
  let finalRoutes = routes;
  if (routes.length === 0) {
    if (groupNames.length > 1) {
      throw new ConfigError(
        'INVALID_VALUE',
        'routes',
        `${source}: routes is required when there is more than one upstream group`,
      );
    }
    finalRoutes = [
      Object.freeze({ host: null, path: '/', upstream: groupNames[0], static: null, mount: false }),
    ];
  }
  return Object.freeze({
    listen,
    serverName,
    trustedProxies: Object.freeze(trustedProxies),
    http,
    upstream,
    upstreams: Object.freeze(upstreams),
    routes: Object.freeze(finalRoutes),
    log,
    admin,
    shutdownTimeoutMs,
  });
}

function readListen(section: Section | null): ListenConfig {
  if (section === null) return DEFAULT_CONFIG.listen;
  section.checkKeys(LISTEN_KEYS);
  return Object.freeze({
    host: section.string('host', DEFAULT_CONFIG.listen.host, true),
    port: section.int('port', DEFAULT_CONFIG.listen.port, 0, 65_535),
  });
}

function readHttp(source: string, input: unknown): HttpFrontOptions {
  if (input === undefined) return DEFAULT_HTTP_FRONT_OPTIONS;
  const section = new Section(source, 'http', 'http', input);
  const keys = Object.keys(DEFAULT_HTTP_FRONT_OPTIONS);
  section.checkKeys(keys);
  const values: Record<string, number> = {};
  for (const key of keys) {
    if (section.has(key)) values[key] = section.int(key, 0, 0);
  }
  try {
    return resolveHttpFrontOptions(values as Partial<HttpFrontOptions>);
  } catch (error) {
    const message = (error as Error).message;
    const key = keys.find((name) => message.includes(`'${name}'`) || message.startsWith(name)) ?? '';
    throw new ConfigError('INVALID_VALUE', `http.${key}`, `${source}: http: ${message}`);
  }
}

function readUpstreamSettings(section: Section | null): UpstreamSettings {
  if (section === null) return DEFAULT_UPSTREAM_SETTINGS;
  section.checkKeys(UPSTREAM_KEYS);
  const out: Record<string, number | string> = {};
  for (const key of UPSTREAM_KEYS as Array<keyof UpstreamSettings>) {
    if (key === 'tempDir') {
      out.tempDir = section.string('tempDir', DEFAULT_UPSTREAM_SETTINGS.tempDir, true);
      continue;
    }
    out[key] = section.int(key, DEFAULT_UPSTREAM_SETTINGS[key], UPSTREAM_MINIMUM[key], UPSTREAM_MAXIMUM[key]);
  }
  const settings = out as unknown as UpstreamSettings;
  if (settings.reconnectMaxMs < settings.reconnectBaseMs) {
    throw section.error(
      section.path('reconnectMaxMs'),
      `must be ≥ upstream.reconnectBaseMs (${settings.reconnectBaseMs})`,
    );
  }
  return Object.freeze(settings);
}

function readGroups(source: string, input: unknown): Record<string, UpstreamGroupConfig> {
  if (input === undefined) return {};
  if (!isPlainObject(input)) {
    throw new ConfigError(
      'INVALID_VALUE',
      'upstreams',
      `${source}: upstreams must be an object of named groups, got ${describe(input)}`,
    );
  }
  const groups: Record<string, UpstreamGroupConfig> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!GROUP_NAME.test(name)) {
      throw new ConfigError(
        'INVALID_VALUE',
        `upstreams.${name}`,
        `${source}: upstream name ${JSON.stringify(name)} must match [A-Za-z0-9_.-]+`,
      );
    }
    const section = new Section(source, `upstreams.${name}`, 'upstreams.*', value);
    section.checkKeys(GROUP_KEYS);
    const socketDir = section.optionalString('socketDir');
    const sockets = section.strings('sockets', [], (path) => (path === '' ? 'must be a socket path' : null));
    const tcp = section.strings('tcp', [], (url) =>
      parseTcpUrl(url) === null ? `must be tcp://host:port, got ${JSON.stringify(url)}` : null,
    );
    if (socketDir === null && sockets.length === 0 && tcp.length === 0) {
      throw section.error(`upstreams.${name}`, 'needs at least one of socketDir, sockets, tcp');
    }
    groups[name] = Object.freeze({
      socketDir,
      sockets: Object.freeze(sockets),
      tcp: Object.freeze(tcp),
      secret: section.optionalString('secret'),
      buffering: section.oneOf<BufferingSetting>('buffering', DEFAULT_GROUP.buffering, BUFFERING_SETTINGS),
      bufferingThreshold: section.int('bufferingThreshold', DEFAULT_GROUP.bufferingThreshold, 0),
    });
  }
  return groups;
}

function readRoutes(
  source: string,
  input: unknown,
  groups: Record<string, UpstreamGroupConfig>,
): RouteConfig[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    throw new ConfigError(
      'INVALID_VALUE',
      'routes',
      `${source}: routes must be an array, got ${describe(input)}`,
    );
  }
  return input.map((value, index) => {
    const path = `routes[${index}]`;
    const section = new Section(source, path, 'routes.*', value);
    section.checkKeys(ROUTE_KEYS);
    const host = section.optionalString('host');
    if (host !== null && !HOST_PATTERN.test(host.toLowerCase())) {
      throw section.error(
        `${path}.host`,
        `must be a host name or *.domain wildcard, got ${JSON.stringify(host)}`,
      );
    }
    const prefix = section.string('path', '', true);
    if (!prefix.startsWith('/'))
      throw section.error(`${path}.path`, `must start with "/", got ${JSON.stringify(prefix)}`);
    const upstream = section.optionalString('upstream');
    const staticInput = section.raw('static');
    // `"static": "/srv/static"` is short for `"static": { "root": "/srv/static" }` (nginx's `root`).
    const staticRoute = section.has('static')
      ? readStatic(
          new Section(
            source,
            `${path}.static`,
            'routes.*.static',
            typeof staticInput === 'string' ? { root: staticInput } : staticInput,
          ),
        )
      : null;
    if ((upstream === null) === (staticRoute === null)) {
      throw section.error(path, 'needs exactly one of upstream and static');
    }
    if (upstream !== null && groups[upstream] === undefined) {
      throw section.error(
        `${path}.upstream`,
        `names an unknown upstream ${JSON.stringify(upstream)} (known: ${Object.keys(groups).join(', ') || 'none'})`,
      );
    }
    const mount = section.bool('mount', false);
    if (mount && staticRoute !== null)
      throw section.error(`${path}.mount`, 'applies to upstream routes only');
    return Object.freeze({
      host: host?.toLowerCase() ?? null,
      path: prefix,
      upstream,
      static: staticRoute,
      mount,
    });
  });
}

function readStatic(section: Section): StaticRouteConfig {
  section.checkKeys(STATIC_KEYS);
  const root = section.string('root', '', true);
  if (!isAbsolute(root))
    throw section.error(section.path('root'), `must be an absolute path, got ${JSON.stringify(root)}`);
  return Object.freeze({
    root,
    index: section.has('index') ? Object.freeze(section.strings('index', [])) : null,
    maxAgeSeconds: section.has('maxAgeSeconds') ? section.int('maxAgeSeconds', 0, 0) : null,
  });
}

function readLog(section: Section | null): LogConfig {
  if (section === null) return DEFAULT_CONFIG.log;
  section.checkKeys(LOG_KEYS);
  return Object.freeze({
    level: section.oneOf('level', DEFAULT_CONFIG.log.level, LOG_LEVELS),
    format: section.oneOf('format', DEFAULT_CONFIG.log.format, LOG_FORMATS),
    access: section.bool('access', DEFAULT_CONFIG.log.access),
  });
}

/**
 * `admin: { listen: "127.0.0.1:9090" }`; `admin: false`, `admin: null` or `listen: false` turn
 * the admin listener off. Its port may not be the public one (`listen.port`).
 */
function readAdmin(source: string, input: unknown, listen: ListenConfig): AdminConfig | null {
  if (input === undefined) return DEFAULT_CONFIG.admin;
  if (input === null || input === false) return null;
  const section = new Section(source, 'admin', 'admin', input);
  section.checkKeys(ADMIN_KEYS);
  const value = section.raw('listen');
  if (value === undefined) return DEFAULT_CONFIG.admin;
  if (value === null || value === false) return null;
  const address = typeof value === 'string' ? parseHostPort(value) : null;
  if (address === null) {
    throw section.error(
      'admin.listen',
      `must be "host:port" ("127.0.0.1:9090", "[::1]:9090") or false, got ${describe(value)}`,
    );
  }
  if (address.port !== 0 && address.port === listen.port) {
    throw section.error(
      'admin.listen',
      `must not use the public port ${listen.port} (listen.port): the admin listener is for operators only`,
    );
  }
  return Object.freeze(address);
}

/** `host:port` or `[v6]:port`, port 0…65535; null when malformed. */
export function parseHostPort(text: string): AdminConfig | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > 65_535) return null;
  return { host: match[1] ?? match[2], port };
}
