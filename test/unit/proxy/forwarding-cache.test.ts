import { describe, expect, it } from 'vitest';
import { ForwardingCache } from '../../../proxy/src/dispatch/forwarding-cache.js';
import { TrustedProxies } from '../../../proxy/src/dispatch/trusted-proxies.js';
import type { ConnectionInfo } from '../../../proxy/src/http/exchange.js';

function connection(remoteAddress: string): ConnectionInfo {
  return { remoteAddress, remotePort: 4000, localAddress: '127.0.0.1', localPort: 8080, scheme: 'http' };
}

describe('ForwardingCache', () => {
  const cache = new ForwardingCache(new TrustedProxies(['10.0.0.0/8']));

  it('reuses one answer for the requests of an untrusted connection with the same host', () => {
    const client = connection('203.0.113.7');
    const first = cache.resolve(client, [['x-forwarded-for', '6.6.6.6']], 'app.test');
    const second = cache.resolve(client, [], 'app.test');
    expect(second).toBe(first);
    expect(first.forwarding.clientAddr).toBe('203.0.113.7');
    expect(first.pairs).toEqual([
      ['x-forwarded-for', '203.0.113.7'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'app.test'],
    ]);
  });

  it('answers again when the host changes, and never shares between connections', () => {
    const client = connection('203.0.113.8');
    const a = cache.resolve(client, [], 'a.test');
    const b = cache.resolve(client, [], 'b.test');
    expect(b).not.toBe(a);
    expect(b.pairs[2]).toEqual(['x-forwarded-host', 'b.test']);
    const other = cache.resolve(connection('203.0.113.9'), [], 'b.test');
    expect(other.forwarding.clientAddr).toBe('203.0.113.9');
  });

  it("resolves a trusted proxy's requests each time (their X-Forwarded-* fields vary)", () => {
    const proxy = connection('10.0.0.5');
    const a = cache.resolve(proxy, [['x-forwarded-for', '198.51.100.1']], 'app.test');
    const b = cache.resolve(proxy, [['x-forwarded-for', '198.51.100.2']], 'app.test');
    expect(a.forwarding.clientAddr).toBe('198.51.100.1');
    expect(b.forwarding.clientAddr).toBe('198.51.100.2');
    expect(b.pairs[0]).toEqual(['x-forwarded-for', '198.51.100.2, 10.0.0.5']);
  });
});
