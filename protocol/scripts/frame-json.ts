import {
  FRAME_TYPE_NAMES,
  Flags,
  FrameEncoder,
  FrameType,
  decodeAuth,
  decodeEnviron,
  decodeGoaway,
  decodeHealth,
  decodeHello,
  decodeReset,
  decodeResponseHead,
  decodeTrailers,
  type DecodedFrame,
  type Environ,
  type FrameTypeName,
  type HeaderPairs,
  type Health,
  type Hello,
  type ResponseHead,
} from '../src/index.js';
import { bin, binBytes, binString, isWireMap, type WireJson, type WireMap } from './wire-json.js';

/**
 * One frame in the vectors' JSON form: the header fields and the payload's meaning (vectors/README.md).
 * `payload` is the MessagePack value with wire key names for structured frames, `{"$bin"}` for
 * DATA, PING and PONG, and `{"increment": n}` for WINDOW.
 */
// A type alias, not an interface, so that a FrameJson is itself a WireJson map.
export type FrameJson = {
  type: FrameTypeName;
  flags: number;
  stream_id: number;
  payload: WireJson;
};

const headersToJson = (pairs: HeaderPairs): WireJson => pairs.map(([name, value]) => [bin(name), bin(value)]);

function headersFromJson(value: WireJson | undefined, what: string): HeaderPairs {
  if (!Array.isArray(value)) throw new TypeError(`${what}: expected an array of pairs`);
  return value.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${what}: expected [name, value]`);
    return [binString(pair[0]), binString(pair[1])];
  });
}

export function environToJson(env: Environ): WireMap {
  const map: WireMap = {
    method: env.method,
    target: bin(env.target),
    path: bin(env.path),
    query: bin(env.query),
    version: env.httpVersion,
    headers: headersToJson(env.headers),
    scheme: env.scheme,
    client_addr: env.clientAddr,
    client_port: env.clientPort,
    server_addr: env.serverAddr,
    server_port: env.serverPort,
    server_name: env.serverName,
    request_id: env.requestId,
    body_length: env.bodyLength,
  };
  if (env.scriptName !== '') map.script_name = bin(env.scriptName);
  if (env.upgrade !== '') map.upgrade = env.upgrade;
  return map;
}

function str(map: WireMap, key: string): string {
  const value = map[key];
  if (typeof value !== 'string') throw new TypeError(`${key}: expected a string`);
  return value;
}

function num(map: WireMap, key: string): number {
  const value = map[key];
  if (typeof value !== 'number') throw new TypeError(`${key}: expected a number`);
  return value;
}

function asMap(value: WireJson, what: string): WireMap {
  if (!isWireMap(value)) throw new TypeError(`${what}: expected a map`);
  return value;
}

export function environFromJson(value: WireJson): Environ {
  const map = asMap(value, 'environ');
  const bodyLength = map.body_length;
  return {
    method: str(map, 'method'),
    target: binString(map.target),
    path: binString(map.path),
    query: binString(map.query),
    httpVersion: str(map, 'version'),
    headers: headersFromJson(map.headers, 'headers'),
    scheme: str(map, 'scheme'),
    clientAddr: str(map, 'client_addr'),
    clientPort: num(map, 'client_port'),
    serverAddr: str(map, 'server_addr'),
    serverPort: num(map, 'server_port'),
    serverName: str(map, 'server_name'),
    requestId: str(map, 'request_id'),
    bodyLength: bodyLength === null ? null : num(map, 'body_length'),
    scriptName: map.script_name === undefined ? '' : binString(map.script_name),
    upgrade: map.upgrade === undefined ? '' : str(map, 'upgrade'),
  };
}

export function responseHeadToJson(head: ResponseHead): WireMap {
  const map: WireMap = { status: head.status, headers: headersToJson(head.headers) };
  if (head.reason !== '') map.reason = head.reason;
  return map;
}

export function responseHeadFromJson(value: WireJson): ResponseHead {
  const map = asMap(value, 'response');
  return {
    status: num(map, 'status'),
    headers: headersFromJson(map.headers, 'headers'),
    reason: map.reason === undefined ? '' : str(map, 'reason'),
  };
}

export function helloToJson(hello: Hello): WireMap {
  const map: WireMap = {
    version: hello.version,
    role: hello.role,
    max_frame_size: hello.maxFrameSize,
    initial_window: hello.initialWindow,
    max_streams: hello.maxStreams,
  };
  if (hello.concurrency !== undefined) map.concurrency = hello.concurrency;
  map.features = [...hello.features];
  map.nonce = bin(hello.nonce);
  if (hello.auth !== undefined) map.auth = hello.auth;
  if (hello.server !== undefined) map.server = hello.server;
  if (hello.pid !== undefined) map.pid = hello.pid;
  if (hello.name !== undefined) map.name = hello.name;
  return map;
}

export function helloFromJson(value: WireJson): Hello {
  const map = asMap(value, 'hello');
  const role = str(map, 'role');
  if (role !== 'proxy' && role !== 'worker') throw new TypeError('hello.role');
  const features = map.features;
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string'))
    throw new TypeError('hello.features');
  const hello: Hello = {
    version: num(map, 'version'),
    role,
    maxFrameSize: num(map, 'max_frame_size'),
    initialWindow: num(map, 'initial_window'),
    maxStreams: num(map, 'max_streams'),
    features: features as string[],
    nonce: binBytes(map.nonce),
  };
  if (map.concurrency !== undefined) hello.concurrency = num(map, 'concurrency');
  if (map.auth !== undefined) hello.auth = str(map, 'auth') as 'hmac-sha256';
  if (map.server !== undefined) hello.server = str(map, 'server');
  if (map.pid !== undefined) hello.pid = num(map, 'pid');
  if (map.name !== undefined) hello.name = str(map, 'name');
  return hello;
}

const HEALTH_FIELDS: Array<[keyof Health, string]> = [
  ['rss', 'rss'],
  ['heapUsed', 'heap_used'],
  ['loopLagMs', 'loop_lag_ms'],
  ['requests', 'requests'],
  ['inFlight', 'in_flight'],
  ['uptimeS', 'uptime_s'],
];

export function healthToJson(health: Health): WireMap {
  const map: WireMap = {};
  for (const [field, key] of HEALTH_FIELDS) {
    const value = health[field];
    if (value !== undefined) map[key] = value;
  }
  return map;
}

export function healthFromJson(value: WireJson): Health {
  const map = asMap(value, 'health');
  const health: Health = {};
  for (const [field, key] of HEALTH_FIELDS) if (map[key] !== undefined) health[field] = num(map, key);
  return health;
}

function typeName(type: number): FrameTypeName {
  const name = FRAME_TYPE_NAMES[type];
  if (name === undefined) throw new RangeError(`frame type 0x${type.toString(16)} has no name`);
  return name;
}

/** The meaning of a whole decoded frame, through the codec's payload decoders (throws ProtocolError). */
export function frameToJson(frame: DecodedFrame): FrameJson {
  const { type, payload } = frame;
  let meaning: WireJson;
  switch (type) {
    case FrameType.HELLO:
      meaning = helloToJson(decodeHello(payload));
      break;
    case FrameType.AUTH:
      meaning = { proof: bin(decodeAuth(payload).proof) };
      break;
    case FrameType.REQUEST:
      meaning = environToJson(decodeEnviron(payload));
      break;
    case FrameType.RESPONSE:
      meaning = responseHeadToJson(decodeResponseHead(payload));
      break;
    case FrameType.TRAILERS:
      meaning = headersToJson(decodeTrailers(payload));
      break;
    case FrameType.WINDOW:
      meaning = { increment: payload.readUInt32BE(0) };
      break;
    case FrameType.RESET: {
      const reset = decodeReset(payload);
      meaning = reset.message === '' ? { code: reset.code } : { code: reset.code, message: reset.message };
      break;
    }
    case FrameType.GOAWAY: {
      const goaway = decodeGoaway(payload);
      meaning = { last_stream: goaway.lastStream, code: goaway.code };
      if (goaway.message !== '') meaning.message = goaway.message;
      break;
    }
    case FrameType.HEALTH:
      meaning = healthToJson(decodeHealth(payload));
      break;
    case FrameType.RECALL: // always empty (the header check enforces it)
      meaning = null;
      break;
    default: // DATA, PING, PONG: raw bytes
      meaning = bin(payload);
  }
  return { type: typeName(type), flags: frame.flags, stream_id: frame.streamId, payload: meaning };
}

/** Encodes a frame from its JSON form with the codec's FrameEncoder (the canonical bytes). */
export function encodeFrameJson(frame: FrameJson, encoder: FrameEncoder): void {
  const { stream_id: streamId, payload } = frame;
  const end = (frame.flags & Flags.END_STREAM) !== 0;
  const mayEnd = frame.type === 'REQUEST' || frame.type === 'RESPONSE' || frame.type === 'DATA';
  const encodable =
    frame.type === 'TRAILERS'
      ? frame.flags === Flags.END_STREAM
      : (frame.flags & ~(mayEnd ? Flags.END_STREAM : 0)) === 0;
  if (!encodable)
    throw new RangeError(`the encoder cannot set flags 0x${frame.flags.toString(16)} on ${frame.type}`);
  switch (frame.type) {
    case 'HELLO':
      return encoder.hello(helloFromJson(payload));
    case 'AUTH':
      return encoder.auth({ proof: binBytes(asMap(payload, 'auth').proof) });
    case 'REQUEST':
      return encoder.request(streamId, environFromJson(payload), end);
    case 'RESPONSE':
      return encoder.response(streamId, responseHeadFromJson(payload), end);
    case 'DATA':
      return encoder.data(streamId, binBytes(payload), end);
    case 'TRAILERS':
      return encoder.trailers(streamId, headersFromJson(payload, 'trailers'));
    case 'WINDOW':
      return encoder.window(streamId, num(asMap(payload, 'window'), 'increment'));
    case 'RESET': {
      const map = asMap(payload, 'reset');
      return encoder.reset(streamId, num(map, 'code'), map.message === undefined ? '' : str(map, 'message'));
    }
    case 'GOAWAY': {
      const map = asMap(payload, 'goaway');
      return encoder.goaway(
        num(map, 'last_stream'),
        num(map, 'code'),
        map.message === undefined ? '' : str(map, 'message'),
      );
    }
    case 'PING':
      return encoder.ping(binBytes(payload));
    case 'PONG':
      return encoder.pong(binBytes(payload));
    case 'HEALTH':
      return encoder.health(healthFromJson(payload));
    case 'RECALL':
      return encoder.recall(streamId);
  }
}

/** The canonical bytes of one frame. */
export function encodeFrame(frame: FrameJson): Buffer {
  const encoder = new FrameEncoder();
  encoder.maxFrameSize = 16_777_215;
  encodeFrameJson(frame, encoder);
  return encoder.takeBuffer();
}
