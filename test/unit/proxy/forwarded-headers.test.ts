import { describe, expect, it } from 'vitest';
import {
  isValidRequestId,
  parseForwardedAddress,
  resolveForwarding,
} from '../../../proxy/src/dispatch/forwarded-headers.js';
import { parseCidr, TrustedProxies } from '../../../proxy/src/dispatch/trusted-proxies.js';
import type { ConnectionInfo } from '../../../proxy/src/http/exchange.js';

const peer = (remoteAddress: string, scheme: 'http' | 'https' = 'http'): ConnectionInfo => ({
  remoteAddress,
  remotePort: 5555,
  localAddress: '10.0.0.1',
  localPort: 80,
  scheme,
});

describe('TrustedProxies', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);

  it('matches IPv4 CIDRs, single addresses and IPv6 ranges', () => {
    expect(trusted.has('10.200.3.4')).toBe(true);
    expect(trusted.has('11.0.0.1')).toBe(false);
    expect(trusted.has('192.168.1.7')).toBe(true);
    expect(trusted.has('192.168.1.8')).toBe(false);
    expect(trusted.has('fd12::1')).toBe(true);
    expect(trusted.has('fe80::1')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 ranges', () => {
    expect(trusted.has('::ffff:10.1.2.3')).toBe(true);
    expect(trusted.has('::ffff:8.8.8.8')).toBe(false);
  });

  it('trusts nothing when empty, and never an empty or invalid address', () => {
    expect(new TrustedProxies([]).has('10.0.0.1')).toBe(false);
    expect(trusted.has('')).toBe(false);
    expect(trusted.has('not-an-ip')).toBe(false);
  });

  it('refuses entries that are not addresses or CIDRs', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/10.0.0.0\/33/);
    expect(parseCidr('example.com')).toBeNull();
    expect(parseCidr('10.0.0.0/x')).toBeNull();
    expect(parseCidr('::1/128')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
  });
});

describe('resolveForwarding', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8']);

  it('from an untrusted peer replaces every X-Forwarded-* field instead of appending', () => {
    const headers: Array<[string, string]> = [
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'evil.test'],
      ['x-request-id', 'spoofed'],
    ];
    const forwarding = resolveForwarding(peer('203.0.113.9'), headers, 'app.test', trusted);
    expect(forwarding).toEqual({
      clientAddr: '203.0.113.9',
      clientPort: 5555,
      scheme: 'http',
      forwardedFor: '203.0.113.9',
      forwardedHost: 'app.test',
      requestId: null,
    });
  });

  it('from a trusted peer takes the rightmost untrusted X-Forwarded-For entry as the client', () => {
    const headers: Array<[string, string]> = [
      ['x-forwarded-for', '6.6.6.6, 198.51.100.2'],
      ['x-forwarded-for', '10.1.1.1'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'public.test'],
      ['x-request-id', 'edge-42'],
    ];
    const forwarding = resolveForwarding(peer('10.0.0.5'), headers, 'app.internal', trusted);
    expect(forwarding.clientAddr).toBe('198.51.100.2'); // 6.6.6.6 was written by the client itself
    expect(forwarding.clientPort).toBe(0);
    expect(forwarding.scheme).toBe('https');
    expect(forwarding.forwardedFor).toBe('6.6.6.6, 198.51.100.2, 10.1.1.1, 10.0.0.5');
    expect(forwarding.forwardedHost).toBe('public.test');
    expect(forwarding.requestId).toBe('edge-42');
  });

  it('from a trusted peer without X-Forwarded-For the peer is the client', () => {
    const forwarding = resolveForwarding(peer('10.0.0.5', 'https'), [], 'app.test', trusted);
    expect(forwarding.clientAddr).toBe('10.0.0.5');
    expect(forwarding.scheme).toBe('https');
    expect(forwarding.forwardedFor).toBe('10.0.0.5');
  });

  it('stops at garbage in the chain and keeps the last address it could read', () => {
    const headers: Array<[string, string]> = [['x-forwarded-for', 'unknown, 10.2.2.2']];
    expect(resolveForwarding(peer('10.0.0.5'), headers, '', trusted).clientAddr).toBe('10.2.2.2');
  });

  it('takes the leftmost entry when every hop is trusted', () => {
    const headers: Array<[string, string]> = [['x-forwarded-for', '10.9.9.9, 10.8.8.8']];
    expect(resolveForwarding(peer('10.0.0.5'), headers, '', trusted).clientAddr).toBe('10.9.9.9');
  });

  it('ignores a trusted X-Forwarded-Proto that is neither http nor https, and invalid request ids', () => {
    const headers: Array<[string, string]> = [
      ['x-forwarded-proto', 'gopher'],
      ['x-request-id', 'has space'],
    ];
    const forwarding = resolveForwarding(peer('10.0.0.5'), headers, '', trusted);
    expect(forwarding.scheme).toBe('http');
    expect(forwarding.requestId).toBeNull();
  });
});

describe('parseForwardedAddress and isValidRequestId', () => {
  it('reads addresses with and without ports', () => {
    expect(parseForwardedAddress(' 1.2.3.4 ')).toBe('1.2.3.4');
    expect(parseForwardedAddress('1.2.3.4:8080')).toBe('1.2.3.4');
    expect(parseForwardedAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(parseForwardedAddress('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(parseForwardedAddress('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(parseForwardedAddress('unknown')).toBeNull();
    expect(parseForwardedAddress('')).toBeNull();
  });

  it('accepts 1…200 visible ASCII characters', () => {
    expect(isValidRequestId('abc-123_x.y')).toBe(true);
    expect(isValidRequestId('')).toBe(false);
    expect(isValidRequestId('a'.repeat(200))).toBe(true);
    expect(isValidRequestId('a'.repeat(201))).toBe(false);
    expect(isValidRequestId('a\u00e9')).toBe(false);
  });
});
