/** A source of worker addresses for one upstream group; it adds and removes endpoints as they come and go. */
export interface Discovery {
  start(): void;
  /** Stops watching; endpoints already added stay (the group retires them at shutdown). */
  stop(): void;
}
