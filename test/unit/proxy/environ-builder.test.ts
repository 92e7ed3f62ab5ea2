import { describe, expect, it } from 'vitest';
import { buildEnviron, serverNameOf } from '../../../proxy/src/dispatch/environ-builder.js';
import { resolveForwarding } from '../../../proxy/src/dispatch/forwarded-headers.js';
import { TrustedProxies } from '../../../proxy/src/dispatch/trusted-proxies.js';
import { FakeExchange } from '../../integration/proxy/helpers/fake-exchange.js';

describe('serverNameOf', () => {
  it('lowercases the host and removes the port', () => {
    expect(serverNameOf('Example.COM:8080', 'fallback')).toBe('example.com');
    expect(serverNameOf('example.com', 'fallback')).toBe('example.com');
    expect(serverNameOf('[2001:DB8::1]:443', 'fallback')).toBe('[2001:db8::1]');
    expect(serverNameOf('10.0.0.1:80', 'fallback')).toBe('10.0.0.1');
    expect(serverNameOf('', 'fallback')).toBe('fallback');
  });
});

describe('buildEnviron (SPEC §7.2)', () => {
  it('carries the request, the connection facts and the forwarding decisions', () => {
    const exchange = new FakeExchange({
      method: 'POST',
      path: '/api/items',
      query: 'x=%20',
      host: 'API.test:8443',
      headers: [
        ['host', 'API.test:8443'],
        ['content-length', '3'],
      ],
      body: [Buffer.from('abc')],
      connection: {
        remoteAddress: '::ffff:192.0.2.1',
        remotePort: 1234,
        localAddress: '10.0.0.1',
        localPort: 8443,
        scheme: 'https',
      },
      requestId: 'rid-9',
    });
    const forwarding = resolveForwarding(
      exchange.connection,
      exchange.head.headers,
      exchange.head.host,
      new TrustedProxies([]),
    );
    const environ = buildEnviron(exchange, {
      forwarding,
      serverName: serverNameOf(exchange.head.host, 'default.test'),
      scriptName: '/api',
      bodyLength: 3,
      extraHeaders: null,
    });
    expect(environ).toEqual({
      method: 'POST',
      target: '/api/items?x=%20',
      path: '/api/items',
      query: 'x=%20',
      httpVersion: 'HTTP/1.1',
      headers: [
        ['host', 'API.test:8443'],
        ['content-length', '3'],
        ['x-forwarded-for', '192.0.2.1'],
        ['x-forwarded-proto', 'https'],
        ['x-forwarded-host', 'API.test:8443'],
        ['x-request-id', 'rid-9'],
      ],
      scheme: 'https',
      clientAddr: '192.0.2.1',
      clientPort: 1234,
      serverAddr: '10.0.0.1',
      serverPort: 8443,
      serverName: 'api.test',
      requestId: 'rid-9',
      bodyLength: 3,
      scriptName: '/api',
      upgrade: '',
    });
  });

  it('uses the configured server name without a host, and a null body length for chunked bodies', () => {
    const exchange = new FakeExchange({ host: '', headers: [], httpVersion: 'HTTP/1.0', manualBody: true });
    const forwarding = resolveForwarding(exchange.connection, [], '', new TrustedProxies([]));
    const environ = buildEnviron(exchange, {
      forwarding,
      serverName: serverNameOf(exchange.head.host, 'fallback.test'),
      scriptName: '',
      bodyLength: null,
      extraHeaders: null,
    });
    expect(environ.serverName).toBe('fallback.test');
    expect(environ.bodyLength).toBeNull();
    expect(environ.headers.find(([name]) => name === 'x-forwarded-host')).toBeUndefined();
  });

  it('an absolute-form target: the app sees its authority as Host, not the Host field (RFC 9112 §3.2.2)', () => {
    const exchange = new FakeExchange({
      host: 'absolute.test',
      headers: [
        ['host', 'other.test'],
        ['accept', '*/*'],
      ],
    });
    const head = exchange.head as { target: string };
    head.target = 'http://absolute.test/hello';
    const forwarding = resolveForwarding(
      exchange.connection,
      exchange.head.headers,
      exchange.head.host,
      new TrustedProxies([]),
    );
    const environ = buildEnviron(exchange, {
      forwarding,
      serverName: serverNameOf(exchange.head.host, 'default.test'),
      scriptName: '',
      bodyLength: 0,
      extraHeaders: null,
    });
    expect(environ.headers.filter(([name]) => name === 'host')).toEqual([['host', 'absolute.test']]);
    // The exchange's own pairs are untouched.
    expect(exchange.head.headers[0]).toEqual(['host', 'other.test']);
  });
});
