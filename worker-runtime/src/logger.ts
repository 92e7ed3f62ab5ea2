import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './worker-config.js';

/**
 * Options of createLogger().
 *
 * @example
 * ```ts
 * const options: LoggerOptions = { level: 'info', format: 'json', name: 'shop', role: 'worker' };
 * ```
 */
export interface LoggerOptions {
  level: LogLevel;
  format: 'json' | 'pretty';
  /** Bound on every line: the app name. */
  name: string;
  /** Bound on every line: 'supervisor' or 'worker'. */
  role: 'supervisor' | 'worker';
}

/**
 * The one pino logger of a process (STYLE #14): one JSON line per event on stdout, or
 * pino-pretty (synchronous, in-process) when attached to a terminal. Lines carry `event`,
 * and `request_id` where a request is concerned.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info', format: process.stdout.isTTY ? 'pretty' : 'json', name: 'shop', role: 'worker' });
 * logger.info({ event: 'ready' }, 'worker ready');
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = { pid: process.pid, name: options.name, role: options.role };
  if (options.format === 'pretty') {
    return pino(
      { level: options.level, base },
      pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' }),
    );
  }
  return pino({ level: options.level, base }, pino.destination({ dest: 1, sync: true }));
}
