import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  DEFAULT_GROUP,
  DEFAULT_UPSTREAM_SETTINGS,
} from '../../../proxy/src/config/config.js';
import { PROXY_ERRORS } from '../../../proxy/src/errors/proxy-error.js';
import { DEFAULT_HTTP_FRONT_OPTIONS } from '../../../proxy/src/http/http-front-options.js';

const readme = readFileSync(new URL('../../../proxy/README.md', import.meta.url), 'utf8');

function table(name: string): string[][] {
  const start = readme.indexOf(`<!-- ${name}:start -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  expect(start).toBeGreaterThan(0);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

const unquote = (cell: string): string => cell.replace(/^`|`$/g, '');

describe('proxy/README.md stays in sync with the code', () => {
  it('lists every config key, and no other', () => {
    const documented = table('config').map((row) => unquote(row[0]));
    const expected = [
      'listen.host',
      'listen.port',
      'serverName',
      'trustedProxies',
      'shutdownTimeoutMs',
      ...Object.keys(DEFAULT_HTTP_FRONT_OPTIONS).map((key) => `http.${key}`),
      ...Object.keys(DEFAULT_UPSTREAM_SETTINGS).map((key) => `upstream.${key}`),
      ...Object.keys(DEFAULT_GROUP).map((key) => `upstreams.<name>.${key}`),
      'routes[].host',
      'routes[].path',
      'routes[].upstream',
      'routes[].mount',
      'routes[].static.root',
      'routes[].static.index',
      'routes[].static.maxAgeSeconds',
      ...Object.keys(DEFAULT_CONFIG.log).map((key) => `log.${key}`),
      'admin.listen',
    ];
    expect(new Set(documented)).toEqual(new Set(expected));
    expect(documented.length).toBe(expected.length);
  });

  it('shows the real default of every numeric key', () => {
    const numeric: Record<string, unknown> = {
      'listen.port': DEFAULT_CONFIG.listen.port,
      shutdownTimeoutMs: DEFAULT_CONFIG.shutdownTimeoutMs,
      ...Object.fromEntries(
        Object.entries(DEFAULT_HTTP_FRONT_OPTIONS).map(([key, value]) => [`http.${key}`, value]),
      ),
      ...Object.fromEntries(
        Object.entries(DEFAULT_UPSTREAM_SETTINGS)
          .filter(([, value]) => typeof value === 'number')
          .map(([key, value]) => [`upstream.${key}`, value]),
      ),
      'upstreams.<name>.bufferingThreshold': DEFAULT_GROUP.bufferingThreshold,
    };
    for (const row of table('config')) {
      const key = unquote(row[0]);
      if (key in numeric) expect(unquote(row[2]), key).toBe(String(numeric[key]));
    }
  });

  it('lists every proxy error code with its status', () => {
    const documented = Object.fromEntries(table('errors').map((row) => [unquote(row[0]), Number(row[1])]));
    const expected = Object.fromEntries(
      Object.entries(PROXY_ERRORS).map(([code, { status }]) => [code, status]),
    );
    expect(documented).toEqual(expected);
  });
});
