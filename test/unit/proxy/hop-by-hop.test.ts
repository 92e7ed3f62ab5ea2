import { describe, expect, it } from 'vitest';
import {
  connectionListedNames,
  isHopByHop,
  stripResponseHopByHop,
} from '../../../proxy/src/dispatch/hop-by-hop.js';
import { forwardedRequestHeaders } from '../../../proxy/src/dispatch/environ-builder.js';
import { forwardingPairs, type Forwarding } from '../../../proxy/src/dispatch/forwarded-headers.js';

const forwarding: Forwarding = {
  clientAddr: '1.2.3.4',
  clientPort: 1,
  scheme: 'http',
  forwardedFor: '1.2.3.4',
  forwardedHost: 'app.test',
  requestId: null,
};

describe('hop-by-hop fields', () => {
  it('knows the fixed set of SPEC §7.3', () => {
    for (const name of [
      'connection',
      'keep-alive',
      'proxy-connection',
      'te',
      'transfer-encoding',
      'upgrade',
      'trailer',
    ]) {
      expect(isHopByHop(name)).toBe(true);
    }
    expect(isHopByHop('content-length')).toBe(false);
  });

  it('collects the names a Connection field lists, case-insensitively', () => {
    expect(connectionListedNames([['connection', 'close']])).toBeNull();
    expect(
      connectionListedNames([
        ['connection', 'keep-alive, X-Foo'],
        ['Connection', ' x-bar ,'],
      ]),
    ).toEqual(new Set(['x-foo', 'x-bar']));
  });

  it('strips request hop-by-hop fields, Connection-listed fields and names with "_", and replaces forwarding fields', () => {
    const out = forwardedRequestHeaders(
      [
        ['host', 'app.test'],
        ['connection', 'keep-alive, x-secret-hop'],
        ['keep-alive', 'timeout=5'],
        ['te', 'trailers'],
        ['transfer-encoding', 'chunked'],
        ['x-secret-hop', '1'],
        ['x_user', 'admin'],
        ['x-forwarded-for', '9.9.9.9'],
        ['x-forwarded-proto', 'https'],
        ['proxy-connection', 'keep-alive'],
        ['accept', '*/*'],
        ['accept', 'text/html'],
      ],
      false,
      forwardingPairs(forwarding),
      'rid-1',
      null,
    );
    expect(out).toEqual([
      ['host', 'app.test'],
      ['accept', '*/*'],
      ['accept', 'text/html'],
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'app.test'],
      ['x-request-id', 'rid-1'],
    ]);
  });

  it('keeps upgrade and connection for an upgrade request', () => {
    const out = forwardedRequestHeaders(
      [
        ['connection', 'Upgrade'],
        ['upgrade', 'websocket'],
        ['sec-websocket-key', 'k'],
      ],
      true,
      forwardingPairs(forwarding),
      'rid',
      null,
    );
    expect(out.slice(0, 3)).toEqual([
      ['connection', 'Upgrade'],
      ['upgrade', 'websocket'],
      ['sec-websocket-key', 'k'],
    ]);
  });

  it('strips response hop-by-hop fields, keeping duplicates of the rest in order', () => {
    const headers: Array<[string, string]> = [
      ['Set-Cookie', 'a=1'],
      ['Connection', 'close, X-Internal'],
      ['Transfer-Encoding', 'chunked'],
      ['x-internal', 'secret'],
      ['set-cookie', 'b=2'],
      ['Keep-Alive', 'timeout=5'],
    ];
    expect(stripResponseHopByHop(headers, false)).toEqual([
      ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });

  it('returns the same array when nothing has to go, and keeps upgrade/connection on a 101', () => {
    const clean: Array<[string, string]> = [['content-type', 'text/plain']];
    expect(stripResponseHopByHop(clean, false)).toBe(clean);
    expect(
      stripResponseHopByHop(
        [
          ['upgrade', 'websocket'],
          ['connection', 'upgrade'],
          ['keep-alive', 'x'],
        ],
        true,
      ),
    ).toEqual([
      ['upgrade', 'websocket'],
      ['connection', 'upgrade'],
    ]);
  });

  it('keeps upgrade (only) on a 426, which MUST send it (RFC 9110 §15.5.22)', () => {
    const headers: Array<[string, string]> = [
      ['Upgrade', 'h2c'],
      ['Connection', 'upgrade'],
      ['content-type', 'text/plain'],
    ];
    expect(stripResponseHopByHop(headers, false, true)).toEqual([
      ['Upgrade', 'h2c'],
      ['content-type', 'text/plain'],
    ]);
  });
});
