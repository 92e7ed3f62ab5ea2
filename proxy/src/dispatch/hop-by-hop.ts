import type { HeaderPairs } from '@gatewire/protocol';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1, SPEC §7.3 and §8.1): they describe one connection and are
 * never forwarded. Names are lowercase, as the front and the protocol deliver them.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * The field names a message's `Connection` fields list (comma-separated tokens, lowercased), which
 * are hop-by-hop too; null when there are none besides the ones removed anyway. Allocates only when
 * a Connection field names something.
 */
export function connectionListedNames(headers: HeaderPairs): Set<string> | null {
  let names: Set<string> | null = null;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    if (pair[0].length !== 10 || pair[0].toLowerCase() !== 'connection') continue;
    for (const token of pair[1].split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '' || HOP_BY_HOP.has(name) || name === 'close') continue;
      (names ??= new Set()).add(name);
    }
  }
  return names;
}

/**
 * Response fields to send to the client: hop-by-hop fields and the ones Connection lists removed
 * (SPEC §8.1). For a 101 the `upgrade` and `connection` fields stay, since they are the handshake;
 * `keepUpgrade` keeps `upgrade` alone (a 426 MUST send it, RFC 9110 §15.5.22).
 * Returns the input array itself when nothing had to go.
 */
export function stripResponseHopByHop(
  headers: HeaderPairs,
  switchingProtocols: boolean,
  keepUpgrade = switchingProtocols,
): HeaderPairs {
  const listed = connectionListedNames(headers);
  let out: HeaderPairs | null = null;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    const name = pair[0].toLowerCase();
    const drop =
      (HOP_BY_HOP.has(name) &&
        !((keepUpgrade && name === 'upgrade') || (switchingProtocols && name === 'connection'))) ||
      (listed !== null && listed.has(name));
    if (drop) {
      out ??= headers.slice(0, i);
    } else if (out !== null) out.push(pair);
  }
  return out ?? headers;
}
