import { hostname } from 'node:os';

/** The host part the runtimes add to default socket names (SPEC §16), as worker-config.ts derives it. */
export const hostLabel = hostname()
  .replace(/[^A-Za-z0-9_-]+/g, '-')
  .replace(/^-+|-+$/g, '')
  .slice(0, 24);
