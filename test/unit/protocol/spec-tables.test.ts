import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ERROR_SCOPE,
  ErrorCode,
  FRAME_HEADER_SIZE,
  FRAME_TYPE_NAMES,
  Flags,
  FrameType,
  Limits,
  PREFACE,
  PREFACE_SIZE,
  ProtocolError,
  validateFrameHeader,
} from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';

const SPEC = readFileSync(fileURLToPath(new URL('../../../protocol/SPEC.md', import.meta.url)), 'utf8');

/** The rows of the first markdown table after `heading`, as trimmed cells, header row excluded. */
function table(heading: string): string[][] {
  const start = SPEC.indexOf(`\n${heading}\n`);
  expect(start, `SPEC.md has a heading "${heading}"`).toBeGreaterThan(0);
  const lines = SPEC.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    rows.push(
      lines[i]
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  expect(rows.length).toBeGreaterThan(0);
  return rows;
}

function codeOf(error: unknown): string | undefined {
  return error instanceof ProtocolError ? error.code : undefined;
}

function headerError(type: number, flags: number, streamId: number, length: number): string | undefined {
  try {
    validateFrameHeader(type, flags, streamId, length, Limits.DEFAULT_MAX_FRAME_SIZE);
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

describe('SPEC §4.2 frame types', () => {
  const rows = table('### 4.2 Frame types');

  it('lists exactly the FrameType constants, with the same codes', () => {
    const spec = Object.fromEntries(rows.map(([code, name]) => [name, Number(code)]));
    expect(spec).toEqual({ ...FrameType });
    for (const [name, code] of Object.entries(FrameType)) expect(FRAME_TYPE_NAMES[code]).toBe(name);
  });

  it.each(rows.map((row) => [row[1], row] as const))('%s: its stream-id rule is the decoder’s', (_, row) => {
    const [code, , streamRule] = row;
    const type = Number(code);
    const flags = type === FrameType.TRAILERS ? Flags.END_STREAM : 0;
    const size = type === FrameType.WINDOW ? 4 : type === FrameType.PING || type === FrameType.PONG ? 8 : 0;
    expect(['0', '> 0']).toContain(streamRule);
    expect(headerError(type, flags, 0, size)).toBe(streamRule === '0' ? undefined : 'PROTOCOL_ERROR');
    expect(headerError(type, flags, 1, size)).toBe(streamRule === '0' ? 'PROTOCOL_ERROR' : undefined);
  });

  it('fixed payload sizes match Limits and the decoder', () => {
    const payload = (name: string) => rows.find((row) => row[1] === name)![4];
    expect(payload('WINDOW')).toMatch(new RegExp(`^exactly ${Limits.WINDOW_PAYLOAD_SIZE} bytes`));
    expect(payload('PING')).toMatch(new RegExp(`^exactly ${Limits.PING_PAYLOAD_SIZE} bytes`));
    expect(payload('PONG')).toMatch(new RegExp(`^exactly ${Limits.PING_PAYLOAD_SIZE} bytes`));
    expect(headerError(FrameType.WINDOW, 0, 1, Limits.WINDOW_PAYLOAD_SIZE + 1)).toBe('FRAME_SIZE_ERROR');
    expect(headerError(FrameType.PONG, 0, 0, Limits.PING_PAYLOAD_SIZE - 1)).toBe('FRAME_SIZE_ERROR');
    expect(payload('RECALL')).toMatch(/^empty/);
    expect(headerError(FrameType.RECALL, 0, 1, 1)).toBe('FRAME_SIZE_ERROR');
  });

  it('no type beyond the table is accepted', () => {
    const codes = rows.map(([code]) => Number(code));
    for (let type = 0; type < 256; type++) {
      const known = codes.includes(type);
      expect(headerError(type, 0, 0, 8) === 'UNKNOWN_FRAME_TYPE', `type ${type}`).toBe(!known);
    }
  });
});

describe('SPEC §4.3 flags', () => {
  const rows = table('### 4.3 Flags');

  it('END_STREAM is 0x01 and allowed exactly on the types listed', () => {
    expect(rows).toHaveLength(1);
    const [bit, name, allowedOn] = rows[0];
    expect(Number(bit)).toBe(Flags[name as keyof typeof Flags]);
    const allowed = allowedOn.split(',').map((s) => s.trim());
    for (const [typeName, type] of Object.entries(FrameType)) {
      const streamId = [
        FrameType.HELLO,
        FrameType.AUTH,
        FrameType.GOAWAY,
        FrameType.PING,
        FrameType.PONG,
        FrameType.HEALTH,
      ].includes(type as never)
        ? 0
        : 1;
      const size = type === FrameType.WINDOW ? 4 : type === FrameType.PING || type === FrameType.PONG ? 8 : 0;
      const error = headerError(type, Flags.END_STREAM, streamId, size);
      expect(error === undefined, typeName).toBe(allowed.includes(typeName));
    }
  });
});

describe('SPEC §14.1 error codes', () => {
  const rows = table('### 14.1 Error codes');

  it('lists exactly ErrorCode, with the same numbers', () => {
    expect(Object.fromEntries(rows.map(([code, name]) => [name, Number(code)]))).toEqual({ ...ErrorCode });
  });

  it('gives each code the scope of ERROR_SCOPE', () => {
    expect(Object.fromEntries(rows.map(([, name, scope]) => [name, scope]))).toEqual({ ...ERROR_SCOPE });
  });

  it('numbers codes 0… without gaps (a retired code would stay in the table)', () => {
    expect(rows.map(([code]) => Number(code))).toEqual(rows.map((_, i) => i));
  });
});

describe('SPEC §15 limits', () => {
  const rows = table('## 15. Limits');
  /** The numbers each row states, from the constants. Every row and every Limits key must appear here. */
  const expected: Record<string, { numbers: number[]; keys: Array<keyof typeof Limits> }> = {
    preface: { numbers: [PREFACE_SIZE], keys: [] },
    'frame header': { numbers: [FRAME_HEADER_SIZE], keys: [] },
    '`max_frame_size` a side may advertise': {
      numbers: [Limits.MIN_MAX_FRAME_SIZE, Limits.MAX_MAX_FRAME_SIZE],
      keys: ['MIN_MAX_FRAME_SIZE', 'MAX_MAX_FRAME_SIZE'],
    },
    "frame size accepted before the receiver's HELLO is sent": {
      numbers: [Limits.DEFAULT_MAX_FRAME_SIZE],
      keys: ['DEFAULT_MAX_FRAME_SIZE'],
    },
    '`initial_window`': {
      numbers: [Limits.MIN_INITIAL_WINDOW, Limits.MAX_WINDOW],
      keys: ['MIN_INITIAL_WINDOW', 'MAX_WINDOW'],
    },
    "a stream's send window at any time": { numbers: [0, Limits.MAX_WINDOW], keys: ['MAX_WINDOW'] },
    'WINDOW increment': { numbers: [1, Limits.MAX_WINDOW], keys: ['MAX_WINDOW'] },
    '`max_streams` (worker)': { numbers: [1, Limits.MAX_STREAMS], keys: ['MAX_STREAMS'] },
    '`concurrency` (worker)': { numbers: [1], keys: [] },
    'stream id': { numbers: [1, Limits.MAX_STREAM_ID], keys: ['MAX_STREAM_ID'] },
    'PING / PONG payload': { numbers: [Limits.PING_PAYLOAD_SIZE], keys: ['PING_PAYLOAD_SIZE'] },
    'WINDOW payload': { numbers: [Limits.WINDOW_PAYLOAD_SIZE], keys: ['WINDOW_PAYLOAD_SIZE'] },
    'HELLO `features`': { numbers: [Limits.MAX_FEATURES], keys: ['MAX_FEATURES'] },
    'HELLO `nonce`': {
      numbers: [Limits.MIN_NONCE_SIZE, Limits.MAX_NONCE_SIZE],
      keys: ['MIN_NONCE_SIZE', 'MAX_NONCE_SIZE'],
    },
    'AUTH `proof`': { numbers: [Limits.PROOF_SIZE], keys: ['PROOF_SIZE'] },
    'MessagePack nesting depth in any payload': {
      numbers: [Limits.MAX_NESTING_DEPTH],
      keys: ['MAX_NESTING_DEPTH'],
    },
    'header pairs in an environ, a response head or trailers': {
      numbers: [Limits.MAX_HEADER_PAIRS],
      keys: ['MAX_HEADER_PAIRS'],
    },
    '`request_id`': { numbers: [Limits.MAX_REQUEST_ID_BYTES], keys: ['MAX_REQUEST_ID_BYTES'] },
    'RESET / GOAWAY `message`': { numbers: [Limits.MAX_MESSAGE_BYTES], keys: ['MAX_MESSAGE_BYTES'] },
    'handshake completion': { numbers: [Limits.HANDSHAKE_TIMEOUT_MS / 1000], keys: ['HANDSHAKE_TIMEOUT_MS'] },
  };

  it('has a row for every limit mapped here, and no other', () => {
    expect(rows.map(([limit]) => limit).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(rows.map((row) => [row[0], row] as const))('%s', (limit, row) => {
    // The numbers of the value cell, before any parenthesised remark.
    const stated = (row[1].split('(')[0].match(/\d+/g) ?? []).map(Number);
    expect(stated).toEqual(expected[limit].numbers);
  });

  it('covers every Limits constant', () => {
    const covered = new Set(Object.values(expected).flatMap((entry) => entry.keys));
    expect([...covered].sort()).toEqual(Object.keys(Limits).sort());
  });

  it('agrees with §3 and §4.1 on the preface and header sizes', () => {
    expect(PREFACE.length).toBe(PREFACE_SIZE);
    expect(SPEC).toContain('`length` bytes of payload');
    expect(SPEC).toContain(`Every frame is a ${FRAME_HEADER_SIZE}-byte header`);
  });
});
