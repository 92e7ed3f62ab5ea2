import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ExchangeRecord } from '../../../proxy/src/http/exchange.js';
import { AccessLog } from '../../../proxy/src/log/access-log.js';

class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    callback();
  }
}

function record(overrides: Partial<Record<string, unknown>> = {}): ExchangeRecord {
  const { exchange, ...rest } = overrides;
  return {
    exchange: {
      requestId: 'ab12-1z',
      head: { method: 'GET', path: '/items/42' },
      upstream: '/run/gatewire/app.1234.sock',
      connection: { remoteAddress: '192.0.2.7' },
      ...((exchange as object) ?? {}),
    },
    status: 200,
    bytesIn: 0,
    bytesOut: 120,
    durationMs: 1.26,
    aborted: null,
    error: null,
    ...rest,
  } as unknown as ExchangeRecord;
}

/** The line pino itself writes for the same record. */
function pinoLine(r: ExchangeRecord): Record<string, unknown> {
  const out = new Lines();
  const logger = pino({ base: { pid: 7 } }, out);
  logger.child({ log: 'access' }).info(
    {
      requestId: r.exchange.requestId,
      method: r.exchange.head.method,
      path: r.exchange.head.path,
      status: r.status,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      durationMs: Math.round(r.durationMs * 10) / 10,
      upstream: r.exchange.upstream,
      client: r.exchange.connection.remoteAddress,
      aborted: r.aborted ?? undefined,
      error: r.error ?? undefined,
    },
    'request',
  );
  return JSON.parse(out.lines[0]) as Record<string, unknown>;
}

function accessLine(r: ExchangeRecord, level = 'info'): string[] {
  const out = new Lines();
  const log = new AccessLog(pino({ base: { pid: 7 }, level }, out), true);
  log.onExchangeComplete(r);
  log.flush();
  return out.lines;
}

describe('AccessLog', () => {
  it('writes the same line as pino would, field for field (time aside), escaping what needs it', () => {
    for (const r of [
      record(),
      record({ exchange: { head: { method: 'POST', path: '/a"b\\c' }, requestId: 'edge"1' } }),
      record({ status: 0, aborted: 'client-gone', error: 'response body shorter than its content-length\n' }),
      record({ exchange: { upstream: '/tmp/caf\u00e9/w.sock', connection: { remoteAddress: '' } } }),
    ]) {
      const [line] = accessLine(r);
      const ours = JSON.parse(line) as Record<string, unknown>;
      const theirs = pinoLine(r);
      expect(typeof ours.time).toBe('number');
      delete ours.time;
      delete theirs.time;
      expect(ours).toEqual(theirs);
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    }
  });

  it('writes the lines of one turn in one write', async () => {
    const out = new Lines();
    const writes: string[] = [];
    const original = out.write.bind(out);
    out.write = ((chunk: string) => {
      writes.push(chunk);
      return original(chunk);
    }) as typeof out.write;
    const log = new AccessLog(pino({ base: { pid: 7 } }, out), true);
    log.onExchangeComplete(record());
    log.onExchangeComplete(record({ status: 404 }));
    expect(out.lines).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.length).toBe(1);
    expect(out.lines.map((line) => (JSON.parse(line) as { status: number }).status)).toEqual([200, 404]);
  });

  it('honours the level and the log.access switch', () => {
    expect(accessLine(record(), 'warn')).toEqual([]);
    const out = new Lines();
    new AccessLog(pino({ base: { pid: 7 } }, out), false).onExchangeComplete(record());
    expect(out.lines).toEqual([]);
  });
});
