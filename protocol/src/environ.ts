import { Limits } from './constants.js';
import { readHeaderPairs, writeHeaderPairs, type HeaderPairs } from './header-pairs.js';
import { MsgpackReader } from './msgpack-reader.js';
import { encodedKey, type MsgpackWriter } from './msgpack-writer.js';

/**
 * The environ: everything a worker needs to know about one request (SPEC §7.2).
 * Fields that come from the HTTP wire are ByteStrings (one character per byte).
 */
export interface Environ {
  /** Request method as received, case preserved. */
  method: string;
  /** Raw request-target (ByteString). */
  target: string;
  /** Path component of the target, percent-encoding intact (ByteString). */
  path: string;
  /** Query component without `?`, empty if none (ByteString). */
  query: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  httpVersion: string;
  /** Request header fields in order; lowercased names (ByteStrings). */
  headers: HeaderPairs;
  scheme: string;
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  serverName: string;
  requestId: string;
  /** Exact body length when known, 0 when no body, null when chunked. */
  bodyLength: number | null;
  /** Mount prefix of `path` consumed by the route (ByteString); '' at the root. */
  scriptName: string;
  /** Lowercased Upgrade value when the proxy will tunnel after a 101; '' otherwise. */
  upgrade: string;
}

/** Wire keys in canonical order (SPEC §7.2). */
const KEYS = [
  'method',
  'target',
  'path',
  'query',
  'version',
  'headers',
  'scheme',
  'client_addr',
  'client_port',
  'server_addr',
  'server_port',
  'server_name',
  'request_id',
  'body_length',
  'script_name',
  'upgrade',
] as const;
const REQUIRED_KEYS = 14;

const K = KEYS.map(encodedKey);
const KEY_BYTES = KEYS.map((key) => Buffer.from(key, 'ascii'));

export function writeEnviron(writer: MsgpackWriter, env: Environ): void {
  const hasScriptName = env.scriptName !== '';
  const hasUpgrade = env.upgrade !== '';
  writer.mapHeader(REQUIRED_KEYS + (hasScriptName ? 1 : 0) + (hasUpgrade ? 1 : 0));
  writer.raw(K[0]);
  writer.str(env.method);
  writer.raw(K[1]);
  writer.bin(env.target, 'environ.target');
  writer.raw(K[2]);
  writer.bin(env.path, 'environ.path');
  writer.raw(K[3]);
  writer.bin(env.query, 'environ.query');
  writer.raw(K[4]);
  writer.str(env.httpVersion);
  writer.raw(K[5]);
  writeHeaderPairs(writer, env.headers, 'environ.headers');
  writer.raw(K[6]);
  writer.str(env.scheme);
  writer.raw(K[7]);
  writer.str(env.clientAddr);
  writer.raw(K[8]);
  writer.uint(env.clientPort, 'environ.client_port');
  writer.raw(K[9]);
  writer.str(env.serverAddr);
  writer.raw(K[10]);
  writer.uint(env.serverPort, 'environ.server_port');
  writer.raw(K[11]);
  writer.str(env.serverName);
  writer.raw(K[12]);
  writer.str(env.requestId);
  writer.raw(K[13]);
  if (env.bodyLength === null) writer.nil();
  else writer.uint(env.bodyLength, 'environ.body_length');
  if (hasScriptName) {
    writer.raw(K[14]);
    writer.bin(env.scriptName, 'environ.script_name');
  }
  if (hasUpgrade) {
    writer.raw(K[15]);
    writer.str(env.upgrade);
  }
}

/** Index into KEYS of the key whose bytes end at reader.pos, or -1 for an unknown key. */
function keyIndex(reader: MsgpackReader, length: number): number {
  const buf = reader.buf;
  const start = reader.pos - length;
  let candidate: number;
  // Dispatch on length and first byte, then confirm every byte.
  switch (length) {
    case 4:
      candidate = buf[start] === 0x70 ? 2 : -1; // path
      break;
    case 5:
      candidate = 3; // query
      break;
    case 6:
      candidate = buf[start] === 0x6d ? 0 : buf[start] === 0x74 ? 1 : buf[start] === 0x73 ? 6 : -1; // method target scheme
      break;
    case 7:
      candidate = buf[start] === 0x76 ? 4 : buf[start] === 0x68 ? 5 : buf[start] === 0x75 ? 15 : -1; // version headers upgrade
      break;
    case 10:
      candidate = 12; // request_id
      break;
    case 11:
      if (buf[start] === 0x63)
        candidate = buf[start + 7] === 0x61 ? 7 : 8; // client_addr client_port
      else if (buf[start] === 0x73) {
        if (buf[start + 1] === 0x63)
          candidate = 14; // script_name
        else {
          const c = buf[start + 7];
          candidate = c === 0x61 ? 9 : c === 0x70 ? 10 : 11; // server_addr server_port server_name
        }
      } else candidate = buf[start] === 0x62 ? 13 : -1; // body_length
      break;
    default:
      return -1;
  }
  if (candidate < 0) return -1;
  const expected = KEY_BYTES[candidate];
  if (expected.length !== length) return -1;
  for (let i = 0; i < length; i++) if (buf[start + i] !== expected[i]) return -1;
  return candidate;
}

/** Decodes a REQUEST payload; throws ProtocolError BAD_PAYLOAD naming the offending key. */
export function decodeEnviron(payload: Buffer): Environ {
  const reader: MsgpackReader = new MsgpackReader(payload);
  const count = reader.readMapHeader('environ');
  const env: Environ = {
    method: '',
    target: '',
    path: '',
    query: '',
    httpVersion: '',
    headers: [],
    scheme: '',
    clientAddr: '',
    clientPort: 0,
    serverAddr: '',
    serverPort: 0,
    serverName: '',
    requestId: '',
    bodyLength: null,
    scriptName: '',
    upgrade: '',
  };
  let seen = 0;
  for (let i = 0; i < count; i++) {
    const length = reader.readKeyBytes('environ key');
    const index = keyIndex(reader, length);
    if (index < 0) {
      reader.skip(`environ.${reader.keyString(length)}`, 2); // inside the environ map: SPEC §15 depth
      continue;
    }
    const bit = 1 << index;
    if (seen & bit) reader.fail(`environ.${KEYS[index]}`, 'key appears twice');
    seen |= bit;
    switch (index) {
      case 0:
        env.method = reader.readStr('environ.method');
        break;
      case 1:
        env.target = reader.readBin('environ.target');
        break;
      case 2:
        env.path = reader.readBin('environ.path');
        break;
      case 3:
        env.query = reader.readBin('environ.query');
        break;
      case 4:
        env.httpVersion = reader.readStr('environ.version');
        break;
      case 5:
        env.headers = readHeaderPairs(reader, 'environ.headers');
        break;
      case 6:
        env.scheme = reader.readStr('environ.scheme');
        break;
      case 7:
        env.clientAddr = reader.readStr('environ.client_addr');
        break;
      case 8:
        env.clientPort = reader.readUint('environ.client_port');
        if (env.clientPort > 65535) reader.fail('environ.client_port', `${env.clientPort} is not in 0…65535`);
        break;
      case 9:
        env.serverAddr = reader.readStr('environ.server_addr');
        break;
      case 10:
        env.serverPort = reader.readUint('environ.server_port');
        if (env.serverPort > 65535) reader.fail('environ.server_port', `${env.serverPort} is not in 0…65535`);
        break;
      case 11:
        env.serverName = reader.readStr('environ.server_name');
        break;
      case 12:
        env.requestId = reader.readStr('environ.request_id');
        // A UTF-16 unit is at most 3 UTF-8 bytes: short ids need no byte count.
        if (
          env.requestId.length * 3 > Limits.MAX_REQUEST_ID_BYTES &&
          Buffer.byteLength(env.requestId) > Limits.MAX_REQUEST_ID_BYTES
        ) {
          reader.fail('environ.request_id', `longer than ${Limits.MAX_REQUEST_ID_BYTES} bytes`);
        }
        break;
      case 13:
        env.bodyLength = reader.readNilIf() ? null : reader.readUint('environ.body_length');
        break;
      case 14:
        env.scriptName = reader.readBin('environ.script_name');
        break;
      case 15:
        env.upgrade = reader.readStr('environ.upgrade');
        break;
    }
  }
  if (!reader.atEnd()) reader.fail('environ', 'bytes left over after the map');
  const required = (1 << REQUIRED_KEYS) - 1;
  if ((seen & required) !== required) {
    const missing = KEYS.slice(0, REQUIRED_KEYS).filter((_, index) => !(seen & (1 << index)));
    reader.fail('environ', `missing required key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  return env;
}
