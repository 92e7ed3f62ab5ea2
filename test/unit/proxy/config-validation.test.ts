import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../proxy/src/config/config-error.js';
import { validateConfig } from '../../../proxy/src/config/config-validation.js';
import { DEFAULT_UPSTREAM_SETTINGS } from '../../../proxy/src/config/config.js';
import { DEFAULT_HTTP_FRONT_OPTIONS } from '../../../proxy/src/http/http-front-options.js';

const minimal = { upstreams: { app: { socketDir: '/run/gatewire' } } };

function failure(input: unknown): ConfigError {
  try {
    validateConfig(input, 'gatewire.json');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('validateConfig', () => {
  it('fills every default, adds a catch-all route for a single group, and freezes the result', () => {
    const config = validateConfig(minimal);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.upstream).toEqual(DEFAULT_UPSTREAM_SETTINGS);
    expect(config.http).toEqual(DEFAULT_HTTP_FRONT_OPTIONS);
    expect(config.upstream.connectTimeoutMs).toBe(60_000);
    expect(config.upstream.responseTimeoutMs).toBe(60_000);
    expect(config.routes).toEqual([{ host: null, path: '/', upstream: 'app', static: null, mount: false }]);
    expect(config.upstreams.app).toMatchObject({ buffering: 'auto', bufferingThreshold: 4, secret: null });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.upstreams.app)).toBe(true);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it('takes a string as the root of a static route, as nginx users write root', () => {
    const config = validateConfig({
      ...minimal,
      routes: [
        { path: '/static/', static: '/srv/static' },
        { path: '/', upstream: 'app' },
      ],
    });
    expect(config.routes[0].static).toEqual({ root: '/srv/static', index: null, maxAgeSeconds: null });
    const error = failure({ ...minimal, routes: [{ path: '/static/', static: 'static' }] });
    expect(error.key).toBe('routes[0].static.root');
    expect(error.message).toContain('must be an absolute path, got "static"');
  });

  it('refuses an unknown key, naming it and its path', () => {
    const error = failure({ ...minimal, upstream: { queueLenght: 5 } });
    expect(error.code).toBe('UNKNOWN_KEY');
    expect(error.key).toBe('upstream.queueLenght');
    expect(error.message).toMatch(
      /^gatewire\.json: unknown key upstream\.queueLenght \(known keys of upstream: /,
    );
    expect(failure({ ...minimal, colour: 'blue' }).message).toMatch(/unknown key colour/);
    expect(failure({ upstreams: { app: { socketDir: '/x', sokets: [] } } }).key).toBe('upstreams.app.sokets');
  });

  it('says what to use instead of a renamed key', () => {
    const error = failure({ ...minimal, upstream: { readTimeoutMs: 1000 } });
    expect(error.code).toBe('RENAMED_KEY');
    expect(error.message).toBe(
      'gatewire.json: upstream.readTimeoutMs is not a key; use upstream.responseTimeoutMs instead',
    );
    expect(failure({ upstreams: { web: { socketDirectory: '/x' } } }).message).toMatch(
      /upstreams\.web\.socketDirectory is not a key; use upstreams\.web\.socketDir instead/,
    );
    expect(failure({ ...minimal, routes: [{ prefix: '/', upstream: 'app' }] }).message).toMatch(
      /routes\[0\]\.prefix is not a key; use routes\[0\]\.path instead/,
    );
    expect(failure({ ...minimal, http: { maxBodySize: 5 } }).message).toMatch(
      /use http\.maxBodyBytes instead/,
    );
  });

  it('names the key and what was expected for a bad value', () => {
    expect(failure({ ...minimal, upstream: { queueLength: -1 } }).message).toBe(
      'gatewire.json: upstream.queueLength must be an integer ≥ 0, got -1',
    );
    expect(failure({ ...minimal, listen: { port: 'http' } }).message).toBe(
      'gatewire.json: listen.port must be an integer in 0…65535, got "http"',
    );
    expect(failure({ ...minimal, upstream: { maxFrameSize: 1024 } }).message).toMatch(
      /upstream\.maxFrameSize must be an integer in 65536…16777215, got 1024/,
    );
    expect(failure({ ...minimal, log: { level: 'loud' } }).message).toMatch(
      /log\.level must be one of "fatal", .*got "loud"/,
    );
    expect(failure({ ...minimal, trustedProxies: ['10.0.0.0/99'] }).message).toMatch(
      /trustedProxies\[0\] must be an IP address or CIDR/,
    );
    expect(failure({ upstreams: { app: { tcp: ['http://x:1'] } } }).message).toMatch(
      /upstreams\.app\.tcp\[0\] must be tcp:\/\/host:port, got "http:\/\/x:1"/,
    );
    expect(failure({ upstreams: { app: { buffering: 'sometimes', socketDir: '/x' } } }).message).toMatch(
      /upstreams\.app\.buffering must be one of "auto", "on", "off"/,
    );
    expect(failure({ ...minimal, http: { headerTimeoutMs: 'soon' } }).key).toBe('http.headerTimeoutMs');
    expect(failure({ ...minimal, upstream: 5 }).message).toMatch(/upstream must be an object, got 5/);
  });

  it('checks routes against groups', () => {
    expect(failure({ ...minimal, routes: [{ path: '/', upstream: 'nope' }] }).message).toMatch(
      /routes\[0\]\.upstream names an unknown upstream "nope" \(known: app\)/,
    );
    expect(failure({ ...minimal, routes: [{ path: 'api', upstream: 'app' }] }).message).toMatch(
      /must start with "\/"/,
    );
    expect(failure({ ...minimal, routes: [{ path: '/' }] }).message).toMatch(
      /needs exactly one of upstream and static/,
    );
    expect(failure({ ...minimal, routes: [{ path: '/s/', static: { root: 'relative' } }] }).message).toMatch(
      /routes\[0\]\.static\.root must be an absolute path/,
    );
    expect(
      failure({ ...minimal, routes: [{ host: 'bad host', path: '/', upstream: 'app' }] }).message,
    ).toMatch(/routes\[0\]\.host must be a host name/);
    expect(failure({ upstreams: { a: { socketDir: '/a' }, b: { socketDir: '/b' } } }).message).toMatch(
      /routes is required when there is more than one upstream group/,
    );
  });

  it('requires at least one upstream with at least one source', () => {
    expect(failure({}).message).toMatch(/upstreams must name at least one upstream group/);
    expect(failure({ upstreams: { app: {} } }).message).toMatch(
      /needs at least one of socketDir, sockets, tcp/,
    );
    expect(failure({ upstreams: { 'bad name': { socketDir: '/x' } } }).message).toMatch(/must match/);
  });

  it('accepts a full config', () => {
    const config = validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      serverName: 'example.com',
      trustedProxies: ['10.0.0.0/8', '::1'],
      http: { maxBodyBytes: 0 },
      upstream: { queueLength: 0, pingIntervalMs: 0 },
      upstreams: {
        web: { socketDir: '/run/web', buffering: 'on', bufferingThreshold: 1 },
        api: { tcp: ['tcp://api:9000', 'tcp://[::1]:9001'], secret: 's3cret' },
      },
      routes: [
        { host: '*.example.com', path: '/', upstream: 'web' },
        { path: '/api/', upstream: 'api', mount: true },
        { path: '/static/', static: { root: '/srv/static', index: ['index.html'], maxAgeSeconds: 60 } },
      ],
      log: { level: 'warn', format: 'json', access: false },
      shutdownTimeoutMs: 5000,
    });
    expect(config.routes.length).toBe(3);
    expect(config.upstreams.api.secret).toBe('s3cret');
    expect(config.http.maxBodyBytes).toBe(0);
  });
});
