import { describe, expect, it } from 'vitest';
import { applyOverrides, parseCommandLine } from '../../../proxy/src/config/config-sources.js';
import { parseHostPort, validateConfig } from '../../../proxy/src/config/config-validation.js';

const BASE = { upstreams: { app: { sockets: ['/run/app.sock'] } } };

describe('config: admin.listen', () => {
  it('defaults to 127.0.0.1:9090', () => {
    expect(validateConfig(BASE).admin).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(validateConfig({ ...BASE, admin: {} }).admin).toEqual({ host: '127.0.0.1', port: 9090 });
  });

  it('is turned off by false or null, for the section or the key', () => {
    expect(validateConfig({ ...BASE, admin: false }).admin).toBeNull();
    expect(validateConfig({ ...BASE, admin: null }).admin).toBeNull();
    expect(validateConfig({ ...BASE, admin: { listen: false } }).admin).toBeNull();
  });

  it('takes host:port and [v6]:port', () => {
    expect(validateConfig({ ...BASE, admin: { listen: '0.0.0.0:9100' } }).admin).toEqual({
      host: '0.0.0.0',
      port: 9100,
    });
    expect(validateConfig({ ...BASE, admin: { listen: '[::1]:0' } }).admin).toEqual({ host: '::1', port: 0 });
    expect(parseHostPort('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['9090', ':9090', '127.0.0.1:', '127.0.0.1:65536', '::1:9090', 'a b:1', '[::1]9090'])
      expect(parseHostPort(bad), bad).toBeNull();
  });

  it('names the key and the problem', () => {
    expect(() => validateConfig({ ...BASE, admin: { listen: 9090 } }, 'gw.json')).toThrow(
      /^gw\.json: admin\.listen must be "host:port" .*got 9090$/,
    );
    expect(() => validateConfig({ ...BASE, admin: { port: 9090 } })).toThrow(/unknown key admin\.port/);
    expect(() => validateConfig({ ...BASE, admin: { address: '127.0.0.1:1' } })).toThrow(
      /admin\.address is not a key; use admin\.listen instead/,
    );
    expect(() => validateConfig({ ...BASE, admin: 'on' })).toThrow(/admin must be an object, got "on"/);
  });

  it('never takes the public port', () => {
    expect(() =>
      validateConfig({ ...BASE, listen: { port: 8080 }, admin: { listen: '127.0.0.1:8080' } }),
    ).toThrow(/admin\.listen must not use the public port 8080 \(listen\.port\)/);
    // Port 0 (any free port) on both sides cannot clash.
    expect(validateConfig({ ...BASE, listen: { port: 0 }, admin: { listen: '127.0.0.1:0' } }).admin).toEqual({
      host: '127.0.0.1',
      port: 0,
    });
  });

  it('is set by --admin and GATEWIRE_ADMIN (flags win), "off" turns it off', () => {
    const resolve = (argv: string[], env: Record<string, string>, file: Record<string, unknown> = BASE) =>
      validateConfig(applyOverrides(file, env, parseCommandLine(argv), '/')).admin;
    expect(resolve(['--admin', '127.0.0.1:9200'], {})).toEqual({ host: '127.0.0.1', port: 9200 });
    expect(resolve([], { GATEWIRE_ADMIN: '127.0.0.1:9300' })).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(resolve(['--admin=127.0.0.1:9201'], { GATEWIRE_ADMIN: '127.0.0.1:9300' })).toEqual({
      host: '127.0.0.1',
      port: 9201,
    });
    expect(resolve(['--admin', 'off'], {})).toBeNull();
    expect(resolve(['--admin', '127.0.0.1:9202'], {}, { ...BASE, admin: false })).toEqual({
      host: '127.0.0.1',
      port: 9202,
    });
  });
});
