import { BlockList, isIP } from 'node:net';

/**
 * The peers whose forwarding headers are believed (nginx's set_real_ip_from): a list of CIDRs or
 * single addresses, IPv4 and IPv6. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) match IPv4 ranges.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** Throws a TypeError naming the first entry that is not an address or CIDR. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const parsed = parseCidr(entry);
      if (parsed === null) throw new TypeError(`"${entry}" is not an IP address or CIDR`);
      this.#list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.#empty = entries.length === 0;
  }

  get empty(): boolean {
    return this.#empty;
  }

  /** True when `address` (textual IP, optionally IPv4-mapped) is in a trusted range. */
  has(address: string): boolean {
    if (this.#empty || address === '') return false;
    const normalized = unmapIPv4(address);
    const family = isIP(normalized);
    if (family === 0) return false;
    return this.#list.check(normalized, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). */
export function parseCidr(
  entry: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const text = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text)) return null;
    prefix = Number(text);
    if (prefix > max) return null;
  }
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a && address.toLowerCase().startsWith('::ffff:')) {
    const rest = address.slice(7);
    if (isIP(rest) === 4) return rest;
  }
  return address;
}
