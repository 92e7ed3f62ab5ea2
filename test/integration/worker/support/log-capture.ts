import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown> & { msg?: string; event?: string; level?: number };

/** A pino logger whose JSON lines land in `lines` (in-process tests). */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines };
}
