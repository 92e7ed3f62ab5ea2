import { Limits, PROTOCOL_VERSION } from './constants.js';
import { ErrorCode, ProtocolError, type ErrorCodeName } from './errors.js';
import { unpackr } from './msgpack-config.js';
import { encodeValue } from './msgpack-value-writer.js';
import { MsgpackReader } from './msgpack-reader.js';

/** SPEC §5.2 */
export interface Hello {
  version: number;
  role: 'proxy' | 'worker';
  maxFrameSize: number;
  initialWindow: number;
  maxStreams: number;
  /** Worker only (SPEC §5.2, §6.4): streams it runs at once, 1 … maxStreams; absent means maxStreams. */
  concurrency?: number;
  features: string[];
  nonce: Uint8Array;
  /** Worker only: 'hmac-sha256' when it requires the shared-secret proof (SPEC §5.4). */
  auth?: 'hmac-sha256';
  server?: string;
  pid?: number;
  name?: string;
}

/** SPEC §5.4 */
export interface Auth {
  proof: Uint8Array;
}

/** SPEC §10 */
export interface Reset {
  code: number;
  message: string;
}

/** SPEC §11 */
export interface Goaway {
  lastStream: number;
  code: number;
  message: string;
}

/** SPEC §12.2: every field optional. */
export interface Health {
  rss?: number;
  heapUsed?: number;
  loopLagMs?: number;
  requests?: number;
  inFlight?: number;
  uptimeS?: number;
}

type Plain = Record<string, unknown>;

/**
 * Control payloads are validated structurally with the bounded reader (depth, sizes, no
 * extension types) before msgpackr decodes them, so msgpackr never sees hostile structure.
 */
function decodeMap(payload: Buffer, what: string): Plain {
  const reader: MsgpackReader = new MsgpackReader(payload);
  if (reader.atEnd()) reader.fail(what, 'empty payload');
  if (
    reader.peekByte() < 0x80 ||
    (reader.peekByte() > 0x8f && reader.peekByte() !== 0xde && reader.peekByte() !== 0xdf)
  ) {
    reader.readMapHeader(what); // throws the type mismatch
  }
  reader.skip(what);
  if (!reader.atEnd()) reader.fail(what, 'bytes left over after the map');
  let value: unknown;
  try {
    value = unpackr.unpack(payload);
  } catch (error) {
    throw new ProtocolError('BAD_PAYLOAD', `${what}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ProtocolError('BAD_PAYLOAD', `${what}: expected a map`);
  }
  return value as Plain;
}

function bad(code: ErrorCodeName, what: string, problem: string): never {
  throw new ProtocolError(code, `${what}: ${problem}`);
}

function uintField(
  map: Plain,
  key: string,
  what: string,
  code: ErrorCodeName,
  min: number,
  max: number,
): number {
  const value = map[key];
  if (value === undefined || value === null) bad(code, `${what}.${key}`, 'missing');
  if (typeof value !== 'number' || !Number.isInteger(value))
    bad(code, `${what}.${key}`, `expected an integer, got ${describe(value)}`);
  if (value < min || value > max) bad(code, `${what}.${key}`, `${value} is not in ${min}…${max}`);
  return value;
}

function optionalUint(map: Plain, key: string, what: string, code: ErrorCodeName): number | undefined {
  const value = map[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    bad(code, `${what}.${key}`, `expected a non-negative integer, got ${describe(value)}`);
  return value;
}

function optionalString(map: Plain, key: string, what: string, code: ErrorCodeName): string | undefined {
  const value = map[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') bad(code, `${what}.${key}`, `expected str, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return 'bin';
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'nil';
  if (typeof value === 'object') return 'map';
  if (typeof value === 'string') return 'str';
  return typeof value;
}

export function encodeHello(hello: Hello): Buffer {
  const map: Plain = {
    version: hello.version,
    role: hello.role,
    max_frame_size: hello.maxFrameSize,
    initial_window: hello.initialWindow,
    max_streams: hello.maxStreams,
  };
  if (hello.concurrency !== undefined) map.concurrency = hello.concurrency;
  map.features = hello.features;
  map.nonce = Buffer.from(hello.nonce.buffer, hello.nonce.byteOffset, hello.nonce.byteLength);
  if (hello.auth !== undefined) map.auth = hello.auth;
  if (hello.server !== undefined) map.server = hello.server;
  if (hello.pid !== undefined) map.pid = hello.pid;
  if (hello.name !== undefined) map.name = hello.name;
  return encodeValue(map);
}

/** Decodes and validates a HELLO (SPEC §5.2). Violations are HANDSHAKE_ERROR / UNSUPPORTED_VERSION. */
export function decodeHello(payload: Buffer): Hello {
  let map: Plain;
  try {
    map = decodeMap(payload, 'hello');
  } catch (error) {
    throw new ProtocolError('HANDSHAKE_ERROR', (error as Error).message);
  }
  const what = 'hello';
  const version = uintField(map, 'version', what, 'HANDSHAKE_ERROR', 0, Number.MAX_SAFE_INTEGER);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'UNSUPPORTED_VERSION',
      `peer speaks gatewire version ${version}; this side speaks version ${PROTOCOL_VERSION}`,
    );
  }
  const role = map.role;
  if (role !== 'proxy' && role !== 'worker')
    bad('HANDSHAKE_ERROR', 'hello.role', `expected "proxy" or "worker", got ${JSON.stringify(role)}`);
  const maxFrameSize = uintField(
    map,
    'max_frame_size',
    what,
    'HANDSHAKE_ERROR',
    Limits.MIN_MAX_FRAME_SIZE,
    Limits.MAX_MAX_FRAME_SIZE,
  );
  const initialWindow = uintField(
    map,
    'initial_window',
    what,
    'HANDSHAKE_ERROR',
    Limits.MIN_INITIAL_WINDOW,
    Limits.MAX_WINDOW,
  );
  const maxStreams = uintField(
    map,
    'max_streams',
    what,
    'HANDSHAKE_ERROR',
    role === 'worker' ? 1 : 0,
    Limits.MAX_STREAMS,
  );
  const features = map.features;
  if (!Array.isArray(features))
    bad('HANDSHAKE_ERROR', 'hello.features', `expected an array, got ${describe(features)}`);
  if (features.length > Limits.MAX_FEATURES)
    bad('HANDSHAKE_ERROR', 'hello.features', `more than ${Limits.MAX_FEATURES} entries`);
  for (const feature of features) {
    if (typeof feature !== 'string')
      bad('HANDSHAKE_ERROR', 'hello.features', `expected str entries, got ${describe(feature)}`);
  }
  const nonce = map.nonce;
  if (!(nonce instanceof Uint8Array))
    bad('HANDSHAKE_ERROR', 'hello.nonce', `expected bin, got ${describe(nonce)}`);
  if (nonce.length < Limits.MIN_NONCE_SIZE || nonce.length > Limits.MAX_NONCE_SIZE) {
    bad(
      'HANDSHAKE_ERROR',
      'hello.nonce',
      `${nonce.length} bytes is not in ${Limits.MIN_NONCE_SIZE}…${Limits.MAX_NONCE_SIZE}`,
    );
  }
  const hello: Hello = {
    version,
    role,
    maxFrameSize,
    initialWindow,
    maxStreams,
    features: features as string[],
    nonce,
  };
  // A worker ignores a proxy's max_streams, and so also a concurrency a proxy might send (SPEC §5.2).
  if (role === 'worker' && map.concurrency !== undefined && map.concurrency !== null) {
    hello.concurrency = uintField(map, 'concurrency', what, 'HANDSHAKE_ERROR', 1, maxStreams);
  }
  const auth = optionalString(map, 'auth', what, 'HANDSHAKE_ERROR');
  if (auth !== undefined) {
    if (auth !== 'hmac-sha256')
      bad(
        'HANDSHAKE_ERROR',
        'hello.auth',
        `unknown method ${JSON.stringify(auth)} (only "hmac-sha256" is defined)`,
      );
    hello.auth = auth;
  }
  const server = optionalString(map, 'server', what, 'HANDSHAKE_ERROR');
  if (server !== undefined) hello.server = server;
  const pid = optionalUint(map, 'pid', what, 'HANDSHAKE_ERROR');
  if (pid !== undefined) hello.pid = pid;
  const name = optionalString(map, 'name', what, 'HANDSHAKE_ERROR');
  if (name !== undefined) hello.name = name;
  return hello;
}

export function encodeAuth(auth: Auth): Buffer {
  return encodeValue({ proof: Buffer.from(auth.proof.buffer, auth.proof.byteOffset, auth.proof.byteLength) });
}

export function decodeAuth(payload: Buffer): Auth {
  let map: Plain;
  try {
    map = decodeMap(payload, 'auth');
  } catch (error) {
    throw new ProtocolError('AUTH_FAILED', (error as Error).message);
  }
  const proof = map.proof;
  if (!(proof instanceof Uint8Array) || proof.length !== Limits.PROOF_SIZE) {
    bad('AUTH_FAILED', 'auth.proof', `expected bin of ${Limits.PROOF_SIZE} bytes`);
  }
  return { proof };
}

function truncateMessage(message: string): string {
  if (Buffer.byteLength(message) <= Limits.MAX_MESSAGE_BYTES) return message;
  let cut = message.slice(0, Limits.MAX_MESSAGE_BYTES);
  while (Buffer.byteLength(cut) > Limits.MAX_MESSAGE_BYTES) cut = cut.slice(0, -1);
  return cut;
}

export function encodeReset(reset: Reset): Buffer {
  return encodeValue(
    reset.message ? { code: reset.code, message: truncateMessage(reset.message) } : { code: reset.code },
  );
}

export function decodeReset(payload: Buffer): Reset {
  const map = decodeMap(payload, 'reset');
  const code = uintField(map, 'code', 'reset', 'BAD_PAYLOAD', 0, 0xffffffff);
  const message = optionalString(map, 'message', 'reset', 'BAD_PAYLOAD') ?? '';
  return { code, message: truncateMessage(message) };
}

export function encodeGoaway(goaway: Goaway): Buffer {
  const map: Plain = { last_stream: goaway.lastStream, code: goaway.code };
  if (goaway.message) map.message = truncateMessage(goaway.message);
  return encodeValue(map);
}

export function decodeGoaway(payload: Buffer): Goaway {
  const map = decodeMap(payload, 'goaway');
  const lastStream = uintField(map, 'last_stream', 'goaway', 'BAD_PAYLOAD', 0, Limits.MAX_STREAM_ID);
  const code = uintField(map, 'code', 'goaway', 'BAD_PAYLOAD', 0, 0xffffffff);
  const message = optionalString(map, 'message', 'goaway', 'BAD_PAYLOAD') ?? '';
  return { lastStream, code, message: truncateMessage(message) };
}

const HEALTH_KEYS: Array<[keyof Health, string]> = [
  ['rss', 'rss'],
  ['heapUsed', 'heap_used'],
  ['loopLagMs', 'loop_lag_ms'],
  ['requests', 'requests'],
  ['inFlight', 'in_flight'],
  ['uptimeS', 'uptime_s'],
];

export function encodeHealth(health: Health): Buffer {
  const map: Plain = {};
  for (const [field, key] of HEALTH_KEYS) if (health[field] !== undefined) map[key] = health[field];
  return encodeValue(map);
}

export function decodeHealth(payload: Buffer): Health {
  const map = decodeMap(payload, 'health');
  const health: Health = {};
  // SPEC §12.2: a field that is not a non-negative finite number is ignored, not an error.
  for (const [field, key] of HEALTH_KEYS) {
    const value = map[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) health[field] = value;
  }
  return health;
}

/** A RESET/GOAWAY code for an error: ProtocolErrors keep theirs, anything else is INTERNAL_ERROR. */
export function wireCodeOf(error: unknown): number {
  return error instanceof ProtocolError ? error.wireCode : ErrorCode.INTERNAL_ERROR;
}
