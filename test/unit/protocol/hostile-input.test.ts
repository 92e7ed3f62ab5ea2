import {
  FrameDecoder,
  FrameEncoder,
  FrameType,
  Limits,
  ProtocolError,
  decodeEnviron,
  decodeFrames,
  decodeHealth,
  decodeHello,
  decodeResponseHead,
  type FrameHandler,
} from '@gatewire/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { environToJson } from '../../../protocol/scripts/frame-json.js';
import { encodeCanonical, mp } from '../../../protocol/scripts/msgpack-json.js';
import { GET_ENVIRON, OPTIONS_ENVIRON } from '../../../protocol/scripts/vector-fixtures.js';

function header(length: number, type: number, flags: number, streamId: number): Buffer {
  const out = Buffer.alloc(10);
  out.writeUInt32BE(length, 0);
  out[4] = type;
  out[5] = flags;
  out.writeUInt32BE(streamId, 6);
  return out;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

const ignore: FrameHandler = { onFrame() {}, onData() {} };
const envEntries = (): Array<[string, Buffer]> =>
  Object.entries(environToJson(OPTIONS_ENVIRON)).map(([key, value]) => [key, encodeCanonical(value)]);
const withKey = (key: string, value: Buffer) => mp.map([...envEntries(), [key, value]]);

/** Records every Buffer allocation the decoder makes, by size. */
function spyAllocations(): number[] {
  const sizes: number[] = [];
  for (const method of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const original = Buffer[method].bind(Buffer) as (size: number) => Buffer;
    vi.spyOn(Buffer, method).mockImplementation(((size: number, ...rest: unknown[]) => {
      sizes.push(size);
      return (original as (...args: unknown[]) => Buffer)(size, ...rest);
    }) as never);
  }
  return sizes;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hostile input: frame lengths', () => {
  it('a 4 GiB length claim errors on the 10th header byte, before any allocation', () => {
    const decoder = new FrameDecoder(ignore, { expectPreface: false });
    const bytes = header(0xffff_ffff, FrameType.REQUEST, 0, 1);
    const allocations = spyAllocations();
    for (let i = 0; i < 9; i++) decoder.push(bytes.subarray(i, i + 1));
    expect(allocations).toEqual([]);
    expect(codeOf(() => decoder.push(bytes.subarray(9, 10)))).toBe('FRAME_SIZE_ERROR');
    expect(allocations.filter((size) => size > Limits.DEFAULT_MAX_FRAME_SIZE)).toEqual([]);
    expect(decoder.stopped).toBe(true);
  });

  it('allocates at most max_frame_size for a control frame of exactly that length, and only once its payload starts', () => {
    const decoder = new FrameDecoder(ignore, { expectPreface: false });
    const bytes = header(Limits.DEFAULT_MAX_FRAME_SIZE, FrameType.REQUEST, 0, 1);
    const first = Buffer.from([0x80]);
    const allocations = spyAllocations();
    decoder.push(bytes);
    expect(allocations).toEqual([]);
    decoder.push(first);
    expect(allocations).toEqual([Limits.DEFAULT_MAX_FRAME_SIZE]);
  });

  it('never buffers DATA: a max-size DATA frame fed in pieces allocates nothing', () => {
    const allocations = spyAllocations();
    const pieces: number[] = [];
    const decoder = new FrameDecoder(
      { onFrame() {}, onData: (_s, _f, chunk) => pieces.push(chunk.length) },
      { expectPreface: false },
    );
    decoder.push(header(Limits.DEFAULT_MAX_FRAME_SIZE, FrameType.DATA, 0, 1));
    const body = Buffer.alloc(Limits.DEFAULT_MAX_FRAME_SIZE);
    allocations.length = 0;
    for (let offset = 0; offset < body.length; offset += 7000)
      decoder.push(body.subarray(offset, offset + 7000));
    expect(allocations).toEqual([]);
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(Limits.DEFAULT_MAX_FRAME_SIZE);
  });

  it.each([
    ['0 (DATA)', 0, FrameType.DATA, undefined],
    ['max (DATA)', Limits.DEFAULT_MAX_FRAME_SIZE, FrameType.DATA, undefined],
    ['max + 1 (DATA)', Limits.DEFAULT_MAX_FRAME_SIZE + 1, FrameType.DATA, 'FRAME_SIZE_ERROR'],
    ['max + 1 (REQUEST)', Limits.DEFAULT_MAX_FRAME_SIZE + 1, FrameType.REQUEST, 'FRAME_SIZE_ERROR'],
  ])('length %s', (_, length, type, expected) => {
    const decoder = new FrameDecoder(ignore, { expectPreface: false });
    expect(codeOf(() => decoder.push(header(length, type, 0, 1)))).toBe(expected);
  });

  it('follows the limit it advertised: 16777215 accepted, 16777216 refused', () => {
    const decoder = new FrameDecoder(ignore, {
      expectPreface: false,
      maxFrameSize: Limits.MAX_MAX_FRAME_SIZE,
    });
    expect(
      codeOf(() => decoder.push(header(Limits.MAX_MAX_FRAME_SIZE, FrameType.DATA, 0, 1))),
    ).toBeUndefined();
    const other = new FrameDecoder(ignore, { expectPreface: false, maxFrameSize: Limits.MAX_MAX_FRAME_SIZE });
    expect(codeOf(() => other.push(header(Limits.MAX_MAX_FRAME_SIZE + 1, FrameType.DATA, 0, 1)))).toBe(
      'FRAME_SIZE_ERROR',
    );
  });

  it('zero-length frames of every type: raw types pass the header, msgpack payloads fail as payloads', () => {
    const frames = decodeFrames(
      Buffer.concat([
        header(0, FrameType.DATA, 1, 1),
        header(0, FrameType.REQUEST, 0, 3),
        header(0, FrameType.HELLO, 0, 0),
      ]),
      { expectPreface: false },
    );
    expect(frames.map((f) => [f.type, f.payload.length])).toEqual([
      [FrameType.DATA, 0],
      [FrameType.REQUEST, 0],
      [FrameType.HELLO, 0],
    ]);
    expect(codeOf(() => decodeEnviron(frames[1].payload))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeHello(frames[2].payload))).toBe('HANDSHAKE_ERROR');
  });

  it('stops after an error: later bytes are ignored, nothing more is delivered', () => {
    const seen: number[] = [];
    const decoder = new FrameDecoder(
      { onFrame: (type) => seen.push(type), onData: () => seen.push(FrameType.DATA) },
      { expectPreface: false },
    );
    expect(codeOf(() => decoder.push(header(0, 0x42, 0, 0)))).toBe('UNKNOWN_FRAME_TYPE');
    decoder.push(header(0, FrameType.DATA, 0, 1));
    expect(seen).toEqual([]);
    expect(decoder.stopped).toBe(true);
  });
});

describe('hostile input: truncation', () => {
  const encoder = new FrameEncoder();
  encoder.preface();
  encoder.request(1, GET_ENVIRON, false);
  encoder.data(1, Buffer.from('body bytes'), true);
  encoder.ping(Buffer.from('12345678'));
  const stream = encoder.takeBuffer();

  it('a stream cut anywhere delivers exactly the whole frames before the cut, errs nowhere, and is idle only between frames', () => {
    const frames: Array<{ end: number; type: number }> = [];
    for (let offset = 8; offset < stream.length;) {
      const end = offset + 10 + stream.readUInt32BE(offset);
      frames.push({ end, type: stream[offset + 4] });
      offset = end;
    }
    for (let cut = 0; cut <= stream.length; cut++) {
      const whole: number[] = [];
      let dataBytes = 0;
      const decoder = new FrameDecoder({
        onFrame: (type) => whole.push(type),
        onData: (_s, _f, chunk) => (dataBytes += chunk.length),
      });
      decoder.push(stream.subarray(0, cut));
      const done = frames.filter((f) => f.end <= cut);
      expect(whole, `cut at ${cut}`).toEqual(
        done.filter((f) => f.type !== FrameType.DATA).map((f) => f.type),
      );
      expect(decoder.idle, `cut at ${cut}`).toBe(cut === 8 || frames.some((f) => f.end === cut));
      expect(dataBytes).toBeLessThanOrEqual(10);
    }
  });

  it('an environ cut at every length is BAD_PAYLOAD', () => {
    const payload = encodeCanonical(environToJson(GET_ENVIRON));
    for (let length = 0; length < payload.length; length++) {
      expect(
        codeOf(() => decodeEnviron(payload.subarray(0, length))),
        `cut at ${length}`,
      ).toBe('BAD_PAYLOAD');
    }
    expect(codeOf(() => decodeEnviron(payload))).toBeUndefined();
  });
});

describe('hostile input: msgpack structure', () => {
  it('deep nesting fails at level 17 without recursing further (100000 nested arrays)', () => {
    const deep = Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x01])]);
    const started = performance.now();
    expect(codeOf(() => decodeEnviron(withKey('deep', deep)))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeHealth(mp.map([['deep', deep]])))).toBe('BAD_PAYLOAD');
    expect(
      codeOf(() =>
        decodeResponseHead(
          mp.map([
            ['status', mp.uint(200)],
            ['headers', mp.array([])],
            ['deep', deep],
          ]),
        ),
      ),
    ).toBe('BAD_PAYLOAD');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('nesting counts containers: 16 levels pass, 17 fail, in environ and control payloads alike', () => {
    const arrays = (n: number, inner: Buffer) => Buffer.concat([Buffer.alloc(n, 0x91), inner]);
    // The environ map is level 1.
    expect(codeOf(() => decodeEnviron(withKey('x', arrays(15, mp.uint(1)))))).toBeUndefined();
    expect(codeOf(() => decodeEnviron(withKey('x', arrays(14, mp.array([])))))).toBeUndefined();
    expect(codeOf(() => decodeEnviron(withKey('x', arrays(16, mp.uint(1)))))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(withKey('x', arrays(15, mp.array([])))))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(withKey('x', arrays(15, mp.map([])))))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeHealth(mp.map([['x', arrays(15, mp.uint(1))]])))).toBeUndefined();
    expect(codeOf(() => decodeHealth(mp.map([['x', arrays(16, mp.uint(1))]])))).toBe('BAD_PAYLOAD');
  });

  it.each([
    ['map 32', 'df ffffffff'],
    ['map 16', 'de ffff'],
    ['array 32', 'dd ffffffff'],
    ['array 16', 'dc ffff'],
    ['str 32', 'db ffffffff'],
    ['str 16', 'da ffff'],
    ['bin 32', 'c6 ffffffff'],
    ['bin 16', 'c5 ffff'],
    ['ext 32', 'c9 ffffffff 01'],
  ])('a huge %s length claim fails at once, allocating nothing large', (_, hex) => {
    const allocations = spyAllocations();
    const value = Buffer.concat([mp.raw(hex), Buffer.alloc(8)]);
    const started = performance.now();
    expect(codeOf(() => decodeEnviron(withKey('x', value)))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeHealth(mp.map([['x', value]])))).toBe('BAD_PAYLOAD');
    expect(performance.now() - started).toBeLessThan(100);
    expect(allocations.filter((size) => size > 4096)).toEqual([]);
  });

  it('huge claims on known keys fail the same way', () => {
    const entries = envEntries();
    const replace = (key: string, hex: string) =>
      mp.map(
        entries.map(([k, v]): [string, Buffer] => [
          k,
          k === key ? Buffer.concat([mp.raw(hex), Buffer.alloc(4)]) : v,
        ]),
      );
    expect(codeOf(() => decodeEnviron(replace('headers', 'dd 7fffffff')))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(replace('method', 'db 7fffffff')))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(replace('target', 'c6 7fffffff')))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(Buffer.concat([mp.raw('df 7fffffff'), Buffer.alloc(20)])))).toBe(
      'BAD_PAYLOAD',
    );
  });

  it.each([
    ['fixext 1', 'd4 01 00'],
    ['fixext 2', 'd5 01 0000'],
    ['fixext 4 (timestamp 32)', 'd6 ff 00000000'],
    ['fixext 8', 'd7 ff 0000000000000000'],
    ['fixext 16', 'd8 01 00000000000000000000000000000000'],
    ['ext 8', 'c7 01 05 00'],
    ['ext 16', 'c8 0001 05 00'],
    ['ext 32', 'c9 00000001 05 00'],
    ['never-used 0xc1', 'c1'],
  ])('%s is BAD_PAYLOAD anywhere in a payload', (_, hex) => {
    expect(codeOf(() => decodeEnviron(withKey('x', mp.raw(hex))))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeEnviron(withKey('x', mp.array([mp.map([['k', mp.raw(hex)]])]))))).toBe(
      'BAD_PAYLOAD',
    );
    expect(codeOf(() => decodeHealth(mp.map([['x', mp.raw(hex)]])))).toBe('BAD_PAYLOAD');
    expect(codeOf(() => decodeHello(mp.map([['x', mp.raw(hex)]])))).toBe('HANDSHAKE_ERROR');
  });

  it('uint 64 values beyond 2^53 are refused rather than rounded', () => {
    const entries = envEntries().map(([k, v]): [string, Buffer] => [
      k,
      k === 'body_length' ? mp.raw('cf 0020000000000000') : v,
    ]);
    expect(codeOf(() => decodeEnviron(mp.map(entries)))).toBe('BAD_PAYLOAD');
  });
});

describe('hostile input: preface', () => {
  it('names the bytes seen, even when they arrive one at a time', () => {
    const decoder = new FrameDecoder(ignore);
    const http = Buffer.from('GET / HTTP/1.1\r\n');
    decoder.push(http.subarray(0, 1));
    let message = '';
    try {
      decoder.push(http.subarray(1));
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('BAD_PREFACE');
      message = (error as ProtocolError).message;
    }
    expect(message).toContain('"GET / HTTP/1.1\\r\\n"');
  });
});
