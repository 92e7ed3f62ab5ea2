import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogConfig } from '../config/config.js';

/** Fields that may carry credentials: never written, wherever they appear (STYLE #14). */
export const REDACTED_PATHS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'secret',
  '*.authorization',
  '*.proxy-authorization',
  '*.cookie',
  '*.set-cookie',
  '*.secret',
  'headers.authorization',
  'headers.cookie',
];

export interface LoggerTarget {
  /** stdout is a terminal (decides `auto`). main.ts passes process.stdout.isTTY. */
  readonly isTTY: boolean;
  /** Where lines go; stdout (fd 1) by default. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * The proxy's one pino instance: JSON lines (fast, async writes) or pretty output on a TTY.
 * Everything else logs through children of it.
 */
export function createLogger(config: LogConfig, target: LoggerTarget): Logger {
  const options = {
    level: config.level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const prettyOutput = config.format === 'pretty' || (config.format === 'auto' && target.isTTY);
  if (prettyOutput) {
    return pino(
      options,
      pretty({
        colorize: target.isTTY,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        destination: target.destination ?? 1,
      }),
    );
  }
  if (target.destination !== undefined) return pino(options, target.destination);
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
