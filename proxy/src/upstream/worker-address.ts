/** Where a worker listens: a Unix socket path (SPEC §2, §16) or a TCP host and port. */
export type WorkerAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** A stable key and log label: `unix:/run/app/web.12.sock` or `tcp://10.0.0.5:9000`. */
export function addressLabel(address: WorkerAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}

/**
 * Parses `tcp://host:port` (IPv6 in brackets). Returns null for anything else, so the config
 * validator can name the bad value.
 */
export function parseTcpUrl(value: string): { host: string; port: number } | null {
  const match = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+):(\d{1,5})$/.exec(value);
  if (!match) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  const host = match[1].startsWith('[') ? match[1].slice(1, -1) : match[1];
  return { host, port };
}
