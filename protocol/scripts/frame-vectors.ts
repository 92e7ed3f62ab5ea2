import { Flags, FrameType, Limits, type ErrorCodeName, type Environ, type Hello } from '../src/index.js';
import { encodeFrame, environToJson, helloToJson, responseHeadToJson, type FrameJson } from './frame-json.js';
import { encodeCanonical, mp } from './msgpack-json.js';
import {
  ABSOLUTE_FORM_ENVIRON,
  BIG_ENVIRON,
  CHUNKED_ENVIRON,
  GET_ENVIRON,
  OK_RESPONSE,
  OPTIONS_ENVIRON,
  POST_ENVIRON,
  PROXY_HELLO,
  PROXY_NONCE,
  PROXY_PROOF,
  UPGRADE_ENVIRON,
  WORKER_HELLO,
  WORKER_NONCE,
  WORKER_PROOF,
} from './vector-fixtures.js';
import type { ErrorVector, PrefaceVector, ValidVector, VectorFile } from './vector-types.js';
import { bin, toHex, type WireJson } from './wire-json.js';

const CONTEXT = { expect_preface: false, max_frame_size: Limits.DEFAULT_MAX_FRAME_SIZE };

/** A frame header and payload as bytes; `length` defaults to the payload's (SPEC §4.1). */
export function rawFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer,
  length = payload.length,
): Buffer {
  const header = Buffer.alloc(10);
  header.writeUInt32BE(length, 0);
  header[4] = type;
  header[5] = flags;
  header.writeUInt32BE(streamId, 6);
  return Buffer.concat([header, payload]);
}

type Entries = Array<[string | Buffer, Buffer]>;

/** A JSON map's entries, each value canonically encoded, ready to be altered. */
function entriesOf(map: Record<string, WireJson>): Entries {
  return Object.entries(map).map(([key, value]) => [key, encodeCanonical(value)]);
}

function replaced(entries: Entries, key: string, value: Buffer): Entries {
  if (!entries.some(([k]) => k === key)) throw new Error(`no key ${key}`);
  return entries.map(([k, v]) => [k, k === key ? value : v]);
}

function without(entries: Entries, ...keys: string[]): Entries {
  return entries.filter(([k]) => typeof k !== 'string' || !keys.includes(k));
}

const environEntries = (env: Environ = OPTIONS_ENVIRON): Entries => entriesOf(environToJson(env));

const MIN_WORKER_HELLO: Hello = {
  version: 1,
  role: 'worker',
  maxFrameSize: 65_536,
  initialWindow: 65_536,
  maxStreams: 1,
  features: [],
  nonce: WORKER_NONCE.subarray(0, 16),
};
const helloEntries = (): Entries => entriesOf(helloToJson(MIN_WORKER_HELLO));

/** n arrays nested in one another around the value 1: containers at depths d+1 … d+n inside a map at depth d. */
function nested(n: number): Buffer {
  let value = mp.uint(1);
  for (let i = 0; i < n; i++) value = mp.array([value]);
  return value;
}

/** n arrays nested in one another, the innermost empty. */
function nestedEmpty(n: number): Buffer {
  let value = mp.array([]);
  for (let i = 1; i < n; i++) value = mp.array([value]);
  return value;
}

const request = (payload: Buffer, flags = Flags.END_STREAM): Buffer =>
  rawFrame(FrameType.REQUEST, flags, 1, payload);

// --- valid frames -----------------------------------------------------------------------------

function canonical(name: string, section: string, frame: FrameJson, note?: string): ValidVector {
  return {
    name,
    section,
    ...(note ? { note } : {}),
    hex: toHex(encodeFrame(frame)),
    valid: true,
    canonical: true,
    frame,
  };
}

function decodeOnly(
  name: string,
  section: string,
  note: string,
  bytes: Buffer,
  frame: FrameJson,
): ValidVector {
  return { name, section, note, hex: toHex(bytes), valid: true, canonical: false, frame };
}

const f = (type: FrameJson['type'], flags: number, streamId: number, payload: WireJson): FrameJson => ({
  type,
  flags,
  stream_id: streamId,
  payload,
});

function validFrames(): ValidVector[] {
  const bytes256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const maxHello: Hello = {
    version: 1,
    role: 'worker',
    maxFrameSize: Limits.MAX_MAX_FRAME_SIZE,
    initialWindow: Limits.MAX_WINDOW,
    maxStreams: Limits.MAX_STREAMS,
    features: Array.from({ length: Limits.MAX_FEATURES }, (_, i) => `f${i}`),
    nonce: Buffer.concat([PROXY_NONCE, WORKER_NONCE]),
  };
  const vectors: ValidVector[] = [
    canonical(
      'hello-proxy',
      '§5.2',
      f('HELLO', 0, 0, helloToJson(PROXY_HELLO)),
      'max_streams is 0 for a proxy',
    ),
    canonical('hello-worker', '§5.2', f('HELLO', 0, 0, helloToJson(WORKER_HELLO))),
    canonical(
      'hello-worker-auth',
      '§5.2 §5.4',
      f('HELLO', 0, 0, helloToJson({ ...WORKER_HELLO, auth: 'hmac-sha256' })),
      'the worker asks for the shared-secret proof',
    ),
    canonical(
      'hello-worker-minimal',
      '§5.2',
      f('HELLO', 0, 0, helloToJson(MIN_WORKER_HELLO)),
      'required keys only, lowest limits, 16-byte nonce',
    ),
    canonical(
      'hello-worker-maximal-limits',
      '§5.2 §15',
      f('HELLO', 0, 0, helloToJson(maxHello)),
      'highest limits, 64 features, 64-byte nonce',
    ),
    canonical(
      'auth-proxy-proof',
      '§5.4',
      f('AUTH', 0, 0, { proof: bin(PROXY_PROOF) }),
      'HMAC with the fixed secret and nonces',
    ),
    canonical('auth-worker-proof', '§5.4', f('AUTH', 0, 0, { proof: bin(WORKER_PROOF) })),
    canonical(
      'request-get-browser',
      '§7.2',
      f('REQUEST', Flags.END_STREAM, 1, environToJson(GET_ENVIRON)),
      'duplicate cookie kept; raw UTF-8, ISO-8859-1 and non-UTF-8 bytes in values travel unchanged as bin',
    ),
    canonical(
      'request-post-content-length',
      '§7.2',
      f('REQUEST', 0, 3, environToJson(POST_ENVIRON)),
      'no END_STREAM: 11 body bytes follow in DATA',
    ),
    canonical(
      'request-post-chunked',
      '§7.2',
      f('REQUEST', 0, 5, environToJson(CHUNKED_ENVIRON)),
      'body_length nil: length not known in advance',
    ),
    canonical(
      'request-upgrade-all-keys',
      '§7.2 §13',
      f('REQUEST', 0, 7, environToJson(UPGRADE_ENVIRON)),
      'all 16 keys (a map 16), script_name and upgrade present',
    ),
    canonical(
      'request-options-star',
      '§7.2',
      f('REQUEST', Flags.END_STREAM, 9, environToJson(OPTIONS_ENVIRON)),
    ),
    canonical(
      'request-absolute-form',
      '§7.2',
      f('REQUEST', Flags.END_STREAM, 11, environToJson(ABSOLUTE_FORM_ENVIRON)),
    ),
    canonical(
      'request-larger-forms',
      '§7.2',
      f('REQUEST', 0, 13, environToJson(BIG_ENVIRON)),
      'array 16, bin 16, str 8, uint 8/16/64',
    ),
    canonical('response-ok', '§8.1', f('RESPONSE', 0, 1, responseHeadToJson(OK_RESPONSE))),
    canonical(
      'response-no-content',
      '§8.1',
      f('RESPONSE', Flags.END_STREAM, 1, responseHeadToJson({ status: 204, headers: [], reason: '' })),
    ),
    canonical(
      'response-informational',
      '§8.1',
      f(
        'RESPONSE',
        0,
        1,
        responseHeadToJson({
          status: 103,
          headers: [['link', '</style.css>; rel=preload; as=style']],
          reason: '',
        }),
      ),
      'informational: never END_STREAM, another RESPONSE follows',
    ),
    canonical(
      'response-switching-protocols',
      '§8.1 §13',
      f(
        'RESPONSE',
        0,
        7,
        responseHeadToJson({
          status: 101,
          headers: [
            ['upgrade', 'websocket'],
            ['connection', 'Upgrade'],
            ['sec-websocket-accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
          ],
          reason: '',
        }),
      ),
    ),
    canonical(
      'response-with-reason',
      '§8.1',
      f('RESPONSE', 0, 1, responseHeadToJson({ status: 404, headers: [], reason: 'Nicht gefunden – sorry' })),
      'reason is str (UTF-8)',
    ),
    canonical('data-empty-end-stream', '§8.2', f('DATA', Flags.END_STREAM, 1, bin(''))),
    canonical('data-text', '§8.2', f('DATA', 0, 3, bin('hello world'))),
    canonical('data-every-byte-end-stream', '§8.2', f('DATA', Flags.END_STREAM, 3, bin(bytes256))),
    canonical('data-highest-stream-id', '§6.1', f('DATA', 0, Limits.MAX_STREAM_ID, bin('x'))),
    canonical(
      'trailers',
      '§8.3',
      f('TRAILERS', Flags.END_STREAM, 5, [
        [bin('grpc-status'), bin('0')],
        [bin('x-checksum'), bin('sha256=\x9f\x86')],
      ]),
    ),
    canonical('trailers-empty', '§8.3', f('TRAILERS', Flags.END_STREAM, 5, [])),
    canonical('window-1', '§9', f('WINDOW', 0, 1, { increment: 1 })),
    canonical('window-half-default', '§9', f('WINDOW', 0, 3, { increment: 131_072 })),
    canonical('window-max', '§9 §15', f('WINDOW', 0, 5, { increment: Limits.MAX_WINDOW })),
    canonical('reset-cancel', '§10', f('RESET', 0, 1, { code: 12 })),
    canonical(
      'reset-app-error-message',
      '§10',
      f('RESET', 0, 3, { code: 15, message: 'ValueError: bad input' }),
    ),
    canonical(
      'reset-unknown-code',
      '§14.1',
      f('RESET', 0, 5, { code: 4000 }),
      'unknown codes are accepted (and treated like INTERNAL_ERROR)',
    ),
    canonical('goaway-drain', '§11', f('GOAWAY', 0, 0, { last_stream: 7, code: 0 })),
    canonical(
      'goaway-error-message',
      '§11 §14.2',
      f('GOAWAY', 0, 0, { last_stream: 0, code: 1, message: 'REQUEST on stream 0' }),
    ),
    canonical(
      'goaway-max-last-stream',
      '§11',
      f('GOAWAY', 0, 0, { last_stream: Limits.MAX_STREAM_ID, code: 0 }),
    ),
    canonical('ping', '§12.1', f('PING', 0, 0, bin('gw\x00\x00\x00\x00\x01\xff'))),
    canonical('pong', '§12.1', f('PONG', 0, 0, bin('gw\x00\x00\x00\x00\x01\xff'))),
    canonical(
      'health',
      '§12.2',
      f('HEALTH', 0, 0, {
        rss: 52_428_800,
        heap_used: 10_485_760,
        loop_lag_ms: 1.25,
        requests: 1234,
        in_flight: 3,
        uptime_s: 3600.5,
      }),
      'non-integer numbers are float 64',
    ),
    canonical(
      'health-large-integers',
      '§12.2',
      f('HEALTH', 0, 0, { rss: 6 * 2 ** 30, requests: 2 ** 53 - 1, uptime_s: 86_400 }),
      'integers above 2^32 are uint 64, never float 64; an integral uptime is a uint',
    ),
    canonical('health-empty', '§12.2', f('HEALTH', 0, 0, {})),
    canonical(
      'hello-worker-queue',
      '§5.2 §5.3 §6.4',
      f(
        'HELLO',
        0,
        0,
        helloToJson({
          ...WORKER_HELLO,
          maxStreams: 3,
          concurrency: 1,
          features: ['trailers', 'health', 'queue'],
        }),
      ),
      'one run slot and two queue slots: concurrency follows max_streams in canonical order',
    ),
    canonical('recall', '§6.4', f('RECALL', 0, 5, null), 'empty payload; meaning null'),
  ];

  // Decode-only: representations receivers MUST accept (SPEC §7.2 last paragraph, "unknown keys MUST be ignored").
  const opt = environEntries();
  const reordered: Entries = [
    [
      'x-future',
      mp.map([
        ['a', mp.array([mp.uint(1), mp.float64(2.5), mp.nil(), mp.bool(true), mp.str('s'), mp.bin('\x00')])],
      ]),
    ],
    ['body_length', mp.uint(0, 64)],
    ['request_id', mp.str('1', 8)],
    ['server_name', mp.str('localhost', 16)],
    ['server_port', mp.int(8080, 16)],
    ['server_addr', mp.str('127.0.0.1', 32)],
    ['client_port', mp.uint(0, 32)],
    ['client_addr', mp.str('', 8)],
    ['scheme', mp.str('http')],
    ['headers', mp.array([mp.array([mp.bin('host', 16), mp.bin('a', 32)], 16)], 32)],
    ['version', mp.str('HTTP/1.0')],
    ['zz', mp.nil()],
    ['query', mp.bin('', 32)],
    ['path', mp.bin('*', 16)],
    ['target', mp.bin('*')],
    ['method', mp.str('OPTIONS', 32)],
  ];
  vectors.push(
    decodeOnly(
      'request-any-order-any-form',
      '§7.2',
      'keys in reverse order, map 16 / array 32 / array 16 / str 8/16/32 / bin 16/32 / uint 32/64 / int 16, two unknown keys (one with nested values)',
      request(mp.map(reordered, 16)),
      f('REQUEST', Flags.END_STREAM, 1, environToJson({ ...OPTIONS_ENVIRON, headers: [['host', 'a']] })),
    ),
    decodeOnly(
      'request-empty-optional-keys',
      '§7.2',
      'script_name and upgrade present but empty mean the same as absent',
      request(mp.map([...opt, ['script_name', mp.bin('')], ['upgrade', mp.str('')]])),
      f('REQUEST', Flags.END_STREAM, 1, environToJson(OPTIONS_ENVIRON)),
    ),
    decodeOnly(
      'request-nesting-16',
      '§15',
      'an unknown key holding 15 nested arrays: 16 levels of containers with the environ map, the limit',
      request(mp.map([...opt, ['deep', nested(15)]])),
      f('REQUEST', Flags.END_STREAM, 1, environToJson(OPTIONS_ENVIRON)),
    ),
    decodeOnly(
      'health-nesting-16',
      '§15',
      'an unknown key holding 15 nested arrays: 16 levels of containers with the HEALTH map, the limit',
      rawFrame(FrameType.HEALTH, 0, 0, mp.map([['deep', nested(15)]])),
      f('HEALTH', 0, 0, {}),
    ),
    decodeOnly(
      'response-any-order-any-form',
      '§8.1',
      'reason first, an unknown key, status as uint 16, headers as array 16',
      rawFrame(
        FrameType.RESPONSE,
        0,
        1,
        mp.map([
          ['reason', mp.str('OK', 8)],
          ['x-future', mp.map([['n', mp.int(-1, 'fix')]])],
          ['headers', mp.array([], 16)],
          ['status', mp.uint(200, 16)],
        ]),
      ),
      f('RESPONSE', 0, 1, { status: 200, headers: [], reason: 'OK' }),
    ),
    decodeOnly(
      'trailers-array-16',
      '§8.3',
      'the pair array as array 16',
      rawFrame(FrameType.TRAILERS, Flags.END_STREAM, 1, mp.array([mp.array([mp.bin('a'), mp.bin('b')])], 16)),
      f('TRAILERS', Flags.END_STREAM, 1, [[bin('a'), bin('b')]]),
    ),
    decodeOnly(
      'hello-any-order-unknown-keys',
      '§5.2 §5.3',
      'keys reordered, unknown keys and an unknown feature, version as uint 8',
      rawFrame(
        FrameType.HELLO,
        0,
        0,
        mp.map([
          ['nonce', mp.bin(WORKER_NONCE.subarray(0, 16))],
          ['x-vendor', mp.map([['k', mp.array([mp.str('v')])]])],
          ['features', mp.array([mp.str('quantum'), mp.str('trailers')])],
          ['max_streams', mp.uint(1, 32)],
          ['initial_window', mp.uint(65_536)],
          ['max_frame_size', mp.uint(65_536)],
          ['role', mp.str('worker')],
          ['version', mp.uint(1, 8)],
        ]),
      ),
      f('HELLO', 0, 0, helloToJson({ ...MIN_WORKER_HELLO, features: ['quantum', 'trailers'] })),
    ),
    decodeOnly(
      'reset-str8-uint32',
      '§10',
      'message as str 8, code as uint 32',
      rawFrame(
        FrameType.RESET,
        0,
        1,
        mp.map([
          ['code', mp.uint(12, 32)],
          ['message', mp.str('gone', 8)],
        ]),
      ),
      f('RESET', 0, 1, { code: 12, message: 'gone' }),
    ),
    decodeOnly(
      'health-float32-unknown-key',
      '§12.2',
      'loop_lag_ms as float 32 (exactly 1.5), an unknown key',
      rawFrame(
        FrameType.HEALTH,
        0,
        0,
        mp.map([
          ['loop_lag_ms', mp.float32(1.5)],
          ['gc_runs', mp.uint(7)],
        ]),
      ),
      f('HEALTH', 0, 0, { loop_lag_ms: 1.5 }),
    ),
    decodeOnly(
      'health-invalid-values-ignored',
      '§12.2',
      'rss as a str, requests negative, uptime_s NaN: each field that is not a non-negative finite number is ignored, heap_used kept',
      rawFrame(
        FrameType.HEALTH,
        0,
        0,
        mp.map([
          ['rss', mp.str('1')],
          ['requests', mp.raw('ff')],
          ['uptime_s', mp.raw('cb7ff8000000000000')],
          ['heap_used', mp.uint(1024)],
        ]),
      ),
      f('HEALTH', 0, 0, { heap_used: 1024 }),
    ),
  );
  return vectors;
}

// --- invalid frames ---------------------------------------------------------------------------

function errorVectors(): ErrorVector[] {
  const v: ErrorVector[] = [];
  const add = (name: string, section: string, error: ErrorCodeName, note: string, bytes: Buffer) =>
    v.push({ name, section, note, hex: toHex(bytes), error });
  const header = (type: number, flags: number, streamId: number, length: number) =>
    rawFrame(type, flags, streamId, Buffer.alloc(0), length);
  const zeros = (n: number) => Buffer.alloc(n);

  // SPEC §4.1, §4.2, §4.3: the frame header, checked in the order of §4.2.
  add(
    'length-max-plus-one',
    '§4.1',
    'FRAME_SIZE_ERROR',
    'DATA of 65537 bytes against max_frame_size 65536; only the 10 header bytes are given: the error comes before any payload',
    header(FrameType.DATA, 0, 1, 65_537),
  );
  add(
    'length-4-gib',
    '§4.1',
    'FRAME_SIZE_ERROR',
    'a length of 0xffffffff errors right after the header, before anything is allocated',
    header(FrameType.REQUEST, 0, 1, 0xffff_ffff),
  );
  add(
    'length-checked-before-type',
    '§4.2',
    'FRAME_SIZE_ERROR',
    'oversize and unknown type: length is checked first',
    header(0x0e, 0, 0, 65_537),
  );
  add('unknown-type-0x00', '§4.2', 'UNKNOWN_FRAME_TYPE', 'type 0 is not defined', header(0x00, 0, 0, 0));
  add(
    'unknown-type-0x0e',
    '§4.2',
    'UNKNOWN_FRAME_TYPE',
    'the first type after RECALL',
    header(0x0e, 0, 0, 0),
  );
  add('unknown-type-0xff', '§4.2', 'UNKNOWN_FRAME_TYPE', 'type 0xff', rawFrame(0xff, 0, 1, zeros(3)));
  add(
    'type-checked-before-flags',
    '§4.2',
    'UNKNOWN_FRAME_TYPE',
    'unknown type with reserved flags: type is checked first',
    header(0x0e, 0xff, 0, 0),
  );
  add(
    'reserved-flag-data',
    '§4.3',
    'PROTOCOL_ERROR',
    'DATA with flag 0x02',
    rawFrame(FrameType.DATA, 0x02, 1, Buffer.from('x')),
  );
  add(
    'reserved-flag-high-bit',
    '§4.3',
    'PROTOCOL_ERROR',
    'DATA with END_STREAM and 0x80',
    rawFrame(FrameType.DATA, 0x81, 1, Buffer.from('x')),
  );
  add(
    'end-stream-on-hello',
    '§4.3',
    'PROTOCOL_ERROR',
    'END_STREAM is reserved on HELLO',
    rawFrame(FrameType.HELLO, Flags.END_STREAM, 0, encodeCanonical(helloToJson(MIN_WORKER_HELLO))),
  );
  add(
    'end-stream-on-window',
    '§4.3',
    'PROTOCOL_ERROR',
    'END_STREAM is reserved on WINDOW',
    rawFrame(FrameType.WINDOW, Flags.END_STREAM, 1, mp.raw('00000400')),
  );
  add(
    'end-stream-on-reset',
    '§4.3',
    'PROTOCOL_ERROR',
    'END_STREAM is reserved on RESET',
    rawFrame(FrameType.RESET, Flags.END_STREAM, 1, mp.map([['code', mp.uint(12)]])),
  );
  add(
    'trailers-without-end-stream',
    '§4.3 §8.3',
    'PROTOCOL_ERROR',
    'TRAILERS must carry END_STREAM',
    rawFrame(FrameType.TRAILERS, 0, 1, mp.array([])),
  );
  add(
    'flags-checked-before-size',
    '§4.2',
    'PROTOCOL_ERROR',
    'PING with a reserved flag and 7 bytes: flags are checked before the fixed size',
    rawFrame(FrameType.PING, 0x01, 0, zeros(7)),
  );
  for (const [name, type] of [
    ['hello', FrameType.HELLO],
    ['auth', FrameType.AUTH],
    ['goaway', FrameType.GOAWAY],
    ['ping', FrameType.PING],
    ['pong', FrameType.PONG],
    ['health', FrameType.HEALTH],
  ] as const) {
    const payload = type === FrameType.PING || type === FrameType.PONG ? zeros(8) : mp.map([]);
    add(
      `${name}-on-stream-1`,
      '§4.2',
      'PROTOCOL_ERROR',
      `${name.toUpperCase()} is a connection frame: stream id must be 0`,
      rawFrame(type, 0, 1, payload),
    );
  }
  for (const [name, type, payload] of [
    ['request', FrameType.REQUEST, encodeCanonical(environToJson(OPTIONS_ENVIRON))],
    [
      'response',
      FrameType.RESPONSE,
      encodeCanonical(responseHeadToJson({ status: 204, headers: [], reason: '' })),
    ],
    ['data', FrameType.DATA, Buffer.from('x')],
    ['trailers', FrameType.TRAILERS, mp.array([])],
    ['window', FrameType.WINDOW, mp.raw('00000400')],
    ['reset', FrameType.RESET, mp.map([['code', mp.uint(12)]])],
  ] as const) {
    const flags = type === FrameType.TRAILERS ? Flags.END_STREAM : 0;
    add(
      `${name}-on-stream-0`,
      '§4.2',
      'PROTOCOL_ERROR',
      `${name.toUpperCase()} is a stream frame: stream id 0 is not allowed`,
      rawFrame(type, flags, 0, payload),
    );
  }
  add(
    'stream-id-checked-before-size',
    '§4.2',
    'PROTOCOL_ERROR',
    'WINDOW on stream 0 with 3 bytes: the stream id is checked before the fixed size',
    rawFrame(FrameType.WINDOW, 0, 0, zeros(3)),
  );
  add(
    'window-length-3',
    '§4.2 §9',
    'FRAME_SIZE_ERROR',
    'WINDOW payload must be exactly 4 bytes',
    rawFrame(FrameType.WINDOW, 0, 1, zeros(3)),
  );
  add(
    'window-length-5',
    '§4.2 §9',
    'FRAME_SIZE_ERROR',
    'WINDOW payload must be exactly 4 bytes',
    rawFrame(FrameType.WINDOW, 0, 1, mp.raw('0000040000')),
  );
  add(
    'ping-length-7',
    '§4.2 §12.1',
    'FRAME_SIZE_ERROR',
    'PING payload must be exactly 8 bytes',
    rawFrame(FrameType.PING, 0, 0, zeros(7)),
  );
  add(
    'ping-length-9',
    '§4.2 §12.1',
    'FRAME_SIZE_ERROR',
    'PING payload must be exactly 8 bytes',
    rawFrame(FrameType.PING, 0, 0, zeros(9)),
  );
  add(
    'recall-length-1',
    '§4.2 §6.4',
    'FRAME_SIZE_ERROR',
    'RECALL payload must be empty',
    rawFrame(FrameType.RECALL, 0, 1, zeros(1)),
  );
  add(
    'recall-on-stream-0',
    '§4.2 §6.4',
    'PROTOCOL_ERROR',
    'RECALL is a stream frame: stream id 0 is not allowed',
    header(FrameType.RECALL, 0, 0, 0),
  );
  add(
    'recall-end-stream',
    '§4.3 §6.4',
    'PROTOCOL_ERROR',
    'END_STREAM is not allowed on RECALL',
    header(FrameType.RECALL, Flags.END_STREAM, 1, 0),
  );
  add(
    'pong-length-0',
    '§4.2 §12.1',
    'FRAME_SIZE_ERROR',
    'PONG payload must be exactly 8 bytes',
    header(FrameType.PONG, 0, 0, 0),
  );

  // SPEC §1, §7, §15: the environ, and MessagePack well-formedness in general.
  const env = environEntries();
  const envMap = mp.map(env);
  add(
    'request-empty-payload',
    '§7',
    'BAD_PAYLOAD',
    'an empty payload is not a map',
    request(Buffer.alloc(0)),
  );
  add(
    'request-never-used-byte',
    '§1',
    'BAD_PAYLOAD',
    '0xc1 is never used in MessagePack',
    request(mp.raw('c1')),
  );
  add(
    'request-not-a-map',
    '§7',
    'BAD_PAYLOAD',
    'the environ must be a map',
    request(mp.array([mp.str('GET')])),
  );
  add(
    'request-truncated',
    '§7',
    'BAD_PAYLOAD',
    'the environ map is cut in the middle of a value (the frame itself is complete)',
    request(envMap.subarray(0, envMap.length - 5)),
  );
  add(
    'request-bytes-after-map',
    '§7',
    'BAD_PAYLOAD',
    'a second value after the environ map',
    request(Buffer.concat([envMap, mp.nil()])),
  );
  add(
    'request-ext-unknown-key',
    '§1',
    'BAD_PAYLOAD',
    'an extension value (fixext 1) under an unknown key',
    request(mp.map([...env, ['x', mp.ext(1, mp.raw('00'))]])),
  );
  add(
    'request-timestamp-ext',
    '§1',
    'BAD_PAYLOAD',
    'the timestamp extension (type -1) under an unknown key',
    request(mp.map([...env, ['x', mp.ext(-1, mp.raw('00000000'))]])),
  );
  add(
    'request-ext-known-key',
    '§1',
    'BAD_PAYLOAD',
    'body_length as ext 8',
    request(mp.map(replaced(env, 'body_length', mp.ext(5, mp.raw('00'))))),
  );
  add(
    'request-client-port-out-of-range',
    '§7.2',
    'BAD_PAYLOAD',
    'client_port 65536 is outside 0…65535',
    request(mp.map(replaced(env, 'client_port', mp.uint(65536)))),
  );
  add(
    'request-nesting-17',
    '§15',
    'BAD_PAYLOAD',
    'an unknown key holding 16 nested arrays: 17 levels of containers with the environ map',
    request(mp.map([...env, ['deep', nested(16)]])),
  );
  add(
    'request-nesting-17-empty',
    '§15',
    'BAD_PAYLOAD',
    'as request-nesting-17 with the innermost array empty: scalars do not count as a level, containers do',
    request(mp.map([...env, ['deep', nestedEmpty(16)]])),
  );
  add(
    'request-map32-claim',
    '§15',
    'BAD_PAYLOAD',
    'a map 32 claiming 4294967295 entries in a 10-byte payload',
    request(mp.raw('df ffffffff a6 6d6574686f64')),
  );
  add(
    'request-array32-claim',
    '§15',
    'BAD_PAYLOAD',
    'headers as an array 32 claiming 4294967295 pairs',
    request(mp.map(replaced(env, 'headers', mp.raw('dd ffffffff 92')))),
  );
  add(
    'request-str32-claim',
    '§15',
    'BAD_PAYLOAD',
    'method as a str 32 claiming 4294967295 bytes',
    request(mp.map(replaced(env, 'method', mp.raw('db ffffffff 474554')))),
  );
  add(
    'request-bin32-claim',
    '§15',
    'BAD_PAYLOAD',
    'path as a bin 32 claiming 4294967295 bytes',
    request(mp.map(replaced(env, 'path', mp.raw('c6 ffffffff 2f')))),
  );
  add(
    'request-map16-claim-in-unknown-key',
    '§15',
    'BAD_PAYLOAD',
    'an unknown key holding a map 16 claiming 65535 entries',
    request(mp.map([...env, ['x', mp.raw('de ffff 00')]])),
  );
  add(
    'request-invalid-utf8',
    '§7.1',
    'BAD_PAYLOAD',
    'method str with the bytes 47 c3 28 (not UTF-8)',
    request(mp.map(replaced(env, 'method', mp.str(Buffer.from([0x47, 0xc3, 0x28]))))),
  );
  add(
    'request-utf8-surrogate',
    '§7.1',
    'BAD_PAYLOAD',
    'request_id str with an encoded UTF-16 surrogate (ed a0 80)',
    request(mp.map(replaced(env, 'request_id', mp.str(Buffer.from([0xed, 0xa0, 0x80]))))),
  );
  add(
    'request-utf8-overlong',
    '§7.1',
    'BAD_PAYLOAD',
    'server_name str with an overlong encoding of "/" (c0 af)',
    request(mp.map(replaced(env, 'server_name', mp.str(Buffer.from([0xc0, 0xaf]))))),
  );
  add(
    'request-key-not-str',
    '§7',
    'BAD_PAYLOAD',
    'a map key that is an integer',
    request(mp.map([...env, [mp.uint(1), mp.nil()]])),
  );
  add(
    'request-target-as-str',
    '§7.1',
    'BAD_PAYLOAD',
    'target must be bin, not str',
    request(mp.map(replaced(env, 'target', mp.str('*')))),
  );
  add(
    'request-method-as-bin',
    '§7.1',
    'BAD_PAYLOAD',
    'method must be str, not bin',
    request(mp.map(replaced(env, 'method', mp.bin('OPTIONS')))),
  );
  add(
    'request-port-as-str',
    '§7.2',
    'BAD_PAYLOAD',
    'client_port must be uint',
    request(mp.map(replaced(env, 'client_port', mp.str('0')))),
  );
  add(
    'request-port-negative',
    '§7.2',
    'BAD_PAYLOAD',
    'client_port -1 is not a uint',
    request(mp.map(replaced(env, 'client_port', mp.int(-1, 'fix')))),
  );
  add(
    'request-port-float',
    '§7.2',
    'BAD_PAYLOAD',
    'server_port as float 64 (8080.0) is not a uint',
    request(mp.map(replaced(env, 'server_port', mp.float64(8080)))),
  );
  add(
    'request-body-length-bool',
    '§7.2',
    'BAD_PAYLOAD',
    'body_length must be uint or nil',
    request(mp.map(replaced(env, 'body_length', mp.bool(false)))),
  );
  add(
    'request-headers-as-map',
    '§7.2',
    'BAD_PAYLOAD',
    'headers must be an array of pairs',
    request(mp.map(replaced(env, 'headers', mp.map([['host', mp.bin('a')]])))),
  );
  add(
    'request-header-pair-of-3',
    '§7.2',
    'BAD_PAYLOAD',
    'a header pair with 3 elements',
    request(mp.map(replaced(env, 'headers', mp.array([mp.array([mp.bin('a'), mp.bin('b'), mp.bin('c')])])))),
  );
  add(
    'request-header-name-as-str',
    '§7.1',
    'BAD_PAYLOAD',
    'header names are bin, not str',
    request(mp.map(replaced(env, 'headers', mp.array([mp.array([mp.str('host'), mp.bin('a')])])))),
  );
  add(
    'request-missing-request-id',
    '§7.2',
    'BAD_PAYLOAD',
    'request_id is required',
    request(mp.map(without(env, 'request_id'))),
  );
  add(
    'request-missing-most',
    '§7.2',
    'BAD_PAYLOAD',
    'only method present',
    request(mp.map([['method', mp.str('GET')]])),
  );
  add(
    'request-duplicate-key',
    '§7.2',
    'BAD_PAYLOAD',
    'path appears twice',
    request(mp.map([...env, ['path', mp.bin('/other')]])),
  );
  add(
    'request-id-201-bytes',
    '§15',
    'BAD_PAYLOAD',
    'request_id longer than 200 bytes',
    request(mp.map(replaced(env, 'request_id', mp.str('r'.repeat(201))))),
  );
  const pairs = Array.from({ length: Limits.MAX_HEADER_PAIRS + 1 }, () => mp.raw('92 c401 61 c400'));
  add(
    'request-4097-header-pairs',
    '§15',
    'BAD_PAYLOAD',
    'more than 4096 header pairs (all present in the payload)',
    request(mp.map(replaced(env, 'headers', mp.array(pairs)))),
  );

  // SPEC §8.1, §8.3: response head and trailers.
  const response = (entries: Entries) => rawFrame(FrameType.RESPONSE, 0, 1, mp.map(entries));
  const head = entriesOf(responseHeadToJson({ status: 200, headers: [], reason: '' }));
  add(
    'response-status-99',
    '§8.1',
    'INVALID_HEAD',
    'status below 100: a stream error (RESET INVALID_HEAD on this stream), not a connection error',
    response(replaced(head, 'status', mp.uint(99))),
  );
  add(
    'response-status-600',
    '§8.1',
    'INVALID_HEAD',
    'status above 599: a stream error',
    response(replaced(head, 'status', mp.uint(600, 16))),
  );
  add(
    'response-status-as-str',
    '§8.1',
    'BAD_PAYLOAD',
    'status must be uint',
    response(replaced(head, 'status', mp.str('200'))),
  );
  add(
    'response-missing-status',
    '§8.1',
    'BAD_PAYLOAD',
    'status is required',
    response(without(head, 'status')),
  );
  add(
    'response-missing-headers',
    '§8.1',
    'BAD_PAYLOAD',
    'headers is required',
    response(without(head, 'headers')),
  );
  add(
    'response-duplicate-status',
    '§8.1',
    'BAD_PAYLOAD',
    'status appears twice',
    response([...head, ['status', mp.uint(201)]]),
  );
  add(
    'response-reason-as-bin',
    '§8.1',
    'BAD_PAYLOAD',
    'reason must be str',
    response([...head, ['reason', mp.bin('OK')]]),
  );
  add(
    'response-nesting-17',
    '§15',
    'BAD_PAYLOAD',
    'an unknown key holding 16 nested arrays',
    response([...head, ['deep', nested(16)]]),
  );
  add(
    'trailers-as-map',
    '§8.3',
    'BAD_PAYLOAD',
    'trailers must be an array of pairs',
    rawFrame(FrameType.TRAILERS, Flags.END_STREAM, 1, mp.map([['a', mp.bin('b')]])),
  );
  add(
    'trailers-value-as-str',
    '§8.3',
    'BAD_PAYLOAD',
    'trailer values are bin',
    rawFrame(FrameType.TRAILERS, Flags.END_STREAM, 1, mp.array([mp.array([mp.bin('a'), mp.str('b')])])),
  );

  // SPEC §5.2: HELLO (violations are HANDSHAKE_ERROR; a version not spoken is UNSUPPORTED_VERSION).
  const hello = (entries: Entries) => rawFrame(FrameType.HELLO, 0, 0, mp.map(entries));
  const he = helloEntries();
  add(
    'hello-version-2',
    '§5.2',
    'UNSUPPORTED_VERSION',
    'version 2 with an otherwise valid HELLO',
    hello(replaced(he, 'version', mp.uint(2))),
  );
  add(
    'hello-version-0',
    '§5.2',
    'UNSUPPORTED_VERSION',
    'version 0',
    hello(replaced(he, 'version', mp.uint(0))),
  );
  add(
    'hello-version-2-other-shape',
    '§5.2',
    'UNSUPPORTED_VERSION',
    'version is checked before the other keys: a future HELLO may look different',
    hello([
      ['version', mp.uint(2)],
      ['hello', mp.str('v2')],
    ]),
  );
  add(
    'hello-version-missing',
    '§5.2',
    'HANDSHAKE_ERROR',
    'version is required',
    hello(without(he, 'version')),
  );
  add(
    'hello-version-as-str',
    '§5.2',
    'HANDSHAKE_ERROR',
    'version must be uint',
    hello(replaced(he, 'version', mp.str('1'))),
  );
  add(
    'hello-role-unknown',
    '§5.2',
    'HANDSHAKE_ERROR',
    'role must be "proxy" or "worker"',
    hello(replaced(he, 'role', mp.str('client'))),
  );
  add('hello-role-missing', '§5.2', 'HANDSHAKE_ERROR', 'role is required', hello(without(he, 'role')));
  add(
    'hello-max-frame-size-65535',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'max_frame_size below 65536',
    hello(replaced(he, 'max_frame_size', mp.uint(65_535))),
  );
  add(
    'hello-max-frame-size-16777216',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'max_frame_size above 16777215',
    hello(replaced(he, 'max_frame_size', mp.uint(16_777_216))),
  );
  add(
    'hello-initial-window-1023',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'initial_window below 1024',
    hello(replaced(he, 'initial_window', mp.uint(1023))),
  );
  add(
    'hello-initial-window-2147483648',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'initial_window above 2147483647',
    hello(replaced(he, 'initial_window', mp.uint(2_147_483_648))),
  );
  add(
    'hello-worker-max-streams-0',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'a worker must accept at least 1 stream',
    hello(replaced(he, 'max_streams', mp.uint(0))),
  );
  const queueHello = [...he.slice(0, 5), ['concurrency', mp.uint(1)], ...he.slice(5)] as Entries;
  add(
    'hello-concurrency-0',
    '§5.2 §6.4',
    'HANDSHAKE_ERROR',
    'a worker runs at least 1 stream',
    hello(replaced(queueHello, 'concurrency', mp.uint(0))),
  );
  add(
    'hello-concurrency-above-max-streams',
    '§5.2 §6.4',
    'HANDSHAKE_ERROR',
    'concurrency 2 with max_streams 1',
    hello(replaced(queueHello, 'concurrency', mp.uint(2))),
  );
  add(
    'hello-concurrency-as-str',
    '§5.2 §6.4',
    'HANDSHAKE_ERROR',
    'concurrency must be uint',
    hello(replaced(queueHello, 'concurrency', mp.str('1'))),
  );
  add(
    'hello-max-streams-2147483648',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'max_streams above 2147483647',
    hello(replaced(he, 'max_streams', mp.uint(2_147_483_648))),
  );
  add(
    'hello-features-65',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'more than 64 features',
    hello(replaced(he, 'features', mp.array(Array.from({ length: 65 }, (_, i) => mp.str(`f${i}`))))),
  );
  add(
    'hello-features-not-array',
    '§5.2',
    'HANDSHAKE_ERROR',
    'features must be an array',
    hello(replaced(he, 'features', mp.str('trailers'))),
  );
  add(
    'hello-feature-not-str',
    '§5.2',
    'HANDSHAKE_ERROR',
    'features must hold str',
    hello(replaced(he, 'features', mp.array([mp.uint(1)]))),
  );
  add(
    'hello-nonce-15',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'nonce shorter than 16 bytes',
    hello(replaced(he, 'nonce', mp.bin(WORKER_NONCE.subarray(0, 15)))),
  );
  add(
    'hello-nonce-65',
    '§5.2 §15',
    'HANDSHAKE_ERROR',
    'nonce longer than 64 bytes',
    hello(replaced(he, 'nonce', mp.bin(Buffer.alloc(65, 7)))),
  );
  add(
    'hello-nonce-as-str',
    '§5.2',
    'HANDSHAKE_ERROR',
    'nonce must be bin',
    hello(replaced(he, 'nonce', mp.str('0123456789abcdef'))),
  );
  add('hello-nonce-missing', '§5.2', 'HANDSHAKE_ERROR', 'nonce is required', hello(without(he, 'nonce')));
  add(
    'hello-auth-unknown',
    '§5.2 §5.4',
    'HANDSHAKE_ERROR',
    'the only auth method is "hmac-sha256"',
    hello([...he, ['auth', mp.str('md5')]]),
  );
  add(
    'hello-never-used-byte',
    '§5.2',
    'HANDSHAKE_ERROR',
    'a malformed HELLO is a HANDSHAKE_ERROR',
    rawFrame(FrameType.HELLO, 0, 0, mp.raw('c1')),
  );
  add(
    'hello-ext',
    '§5.2',
    'HANDSHAKE_ERROR',
    'an extension value in a HELLO',
    hello([...he, ['x', mp.ext(1, mp.raw('00'))]]),
  );
  add(
    'hello-not-a-map',
    '§5.2',
    'HANDSHAKE_ERROR',
    'HELLO must be a map',
    rawFrame(FrameType.HELLO, 0, 0, mp.array([mp.uint(1)])),
  );
  add('hello-empty', '§5.2', 'HANDSHAKE_ERROR', 'an empty HELLO payload', header(FrameType.HELLO, 0, 0, 0));

  // SPEC §5.4: AUTH (a missing or malformed proof is AUTH_FAILED).
  const auth = (entries: Entries) => rawFrame(FrameType.AUTH, 0, 0, mp.map(entries));
  add(
    'auth-proof-31-bytes',
    '§5.4 §15',
    'AUTH_FAILED',
    'proof must be exactly 32 bytes',
    auth([['proof', mp.bin(PROXY_PROOF.subarray(0, 31))]]),
  );
  add('auth-proof-missing', '§5.4', 'AUTH_FAILED', 'proof is required', auth([]));
  add(
    'auth-proof-as-str',
    '§5.4',
    'AUTH_FAILED',
    'proof must be bin',
    auth([['proof', mp.str('x'.repeat(32))]]),
  );
  add(
    'auth-never-used-byte',
    '§5.4',
    'AUTH_FAILED',
    'a malformed AUTH cannot prove the secret',
    rawFrame(FrameType.AUTH, 0, 0, mp.raw('c1')),
  );

  // SPEC §10, §11, §12.2: RESET, GOAWAY, HEALTH.
  const reset = (payload: Buffer) => rawFrame(FrameType.RESET, 0, 1, payload);
  add(
    'reset-code-missing',
    '§10',
    'BAD_PAYLOAD',
    'code is required',
    reset(mp.map([['message', mp.str('x')]])),
  );
  add(
    'reset-code-as-str',
    '§10',
    'BAD_PAYLOAD',
    'code must be uint',
    reset(mp.map([['code', mp.str('CANCEL')]])),
  );
  add(
    'reset-code-negative',
    '§10',
    'BAD_PAYLOAD',
    'code must be uint',
    reset(mp.map([['code', mp.int(-1, 'fix')]])),
  );
  add(
    'reset-message-as-bin',
    '§10',
    'BAD_PAYLOAD',
    'message must be str',
    reset(
      mp.map([
        ['code', mp.uint(12)],
        ['message', mp.bin('x')],
      ]),
    ),
  );
  add('reset-not-a-map', '§10', 'BAD_PAYLOAD', 'RESET payload must be a map', reset(mp.uint(12)));
  add('reset-empty', '§10', 'BAD_PAYLOAD', 'an empty RESET payload', header(FrameType.RESET, 0, 1, 0));
  const goaway = (entries: Entries) => rawFrame(FrameType.GOAWAY, 0, 0, mp.map(entries));
  add(
    'goaway-last-stream-missing',
    '§11',
    'BAD_PAYLOAD',
    'last_stream is required',
    goaway([['code', mp.uint(0)]]),
  );
  add('goaway-code-missing', '§11', 'BAD_PAYLOAD', 'code is required', goaway([['last_stream', mp.uint(0)]]));
  add(
    'goaway-last-stream-too-big',
    '§11 §15',
    'BAD_PAYLOAD',
    'last_stream above 4294967295',
    goaway([
      ['last_stream', mp.uint(2 ** 32, 64)],
      ['code', mp.uint(0)],
    ]),
  );
  const health = (entries: Entries) => rawFrame(FrameType.HEALTH, 0, 0, mp.map(entries));
  add(
    'health-ext',
    '§12.2',
    'BAD_PAYLOAD',
    'an extension value in HEALTH',
    health([['uptime_s', mp.ext(-1, mp.raw('00000000'))]]),
  );
  add(
    'health-nesting-17',
    '§15',
    'BAD_PAYLOAD',
    'an unknown key holding 16 nested arrays',
    health([['deep', nested(16)]]),
  );
  return v;
}

function prefaceVectors(): PrefaceVector[] {
  const p = (name: string, note: string, text: string, error?: ErrorCodeName): PrefaceVector => ({
    name,
    section: '§3',
    note,
    hex: toHex(Buffer.from(text, 'latin1')),
    ...(error ? { error } : { valid: true as const }),
  });
  return [
    p('preface', 'the ASCII string GATEWIRE', 'GATEWIRE'),
    p(
      'preface-then-hello',
      'the preface followed by a whole HELLO frame',
      'GATEWIRE' + encodeFrame(f('HELLO', 0, 0, helloToJson(MIN_WORKER_HELLO))).toString('latin1'),
    ),
    p(
      'http-request',
      'an HTTP client dialed a worker socket',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'BAD_PREFACE',
    ),
    p(
      'printed-text',
      'a worker printed to its socket',
      'Starting development server at http://127.0.0.1:8000/\n',
      'BAD_PREFACE',
    ),
    p('lowercase', 'the preface is case-sensitive', 'gatewire', 'BAD_PREFACE'),
    p('last-byte-wrong', 'the 8th byte differs', 'GATEWIRX', 'BAD_PREFACE'),
    p(
      'frame-without-preface',
      'a HELLO frame where the preface belongs',
      encodeFrame(f('HELLO', 0, 0, helloToJson(MIN_WORKER_HELLO))).toString('latin1'),
      'BAD_PREFACE',
    ),
    p('short-wrong', 'two bytes already differ: the error need not wait for all 8', 'GX', 'BAD_PREFACE'),
  ];
}

export function buildFramesFile(): VectorFile<ValidVector> {
  return {
    description:
      'Valid frames of every type (SPEC §4–§12). Decode `hex` and compare with `frame`; when `canonical` is true, encoding `frame` must give `hex` back.',
    decoder: CONTEXT,
    vectors: validFrames(),
  };
}

export function buildErrorsFile(): VectorFile<ErrorVector> {
  return {
    description:
      'Invalid frames a stateless decoder detects (SPEC §4, payload schemas, §15 limits). Decoding `hex` (header checks, then the payload for its type) must fail with `error`.',
    decoder: CONTEXT,
    vectors: errorVectors(),
  };
}

export function buildPrefaceFile(): VectorFile<PrefaceVector> {
  return {
    description:
      'The first bytes of a connection (SPEC §3). `valid` inputs start with the preface; the rest are BAD_PREFACE.',
    decoder: { expect_preface: true, max_frame_size: Limits.DEFAULT_MAX_FRAME_SIZE },
    vectors: prefaceVectors(),
  };
}
