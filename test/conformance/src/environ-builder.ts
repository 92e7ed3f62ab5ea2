import { encodeMsgpack, mpMap, type MpValue } from './msgpack-builder.js';

/** Wire bytes of a field from the HTTP side (SPEC §7.1): a string is taken as ISO-8859-1. */
export type WireBytes = string | Uint8Array;

export interface RequestSpec {
  method?: string;
  /** The request-target, e.g. `/echo?x=1`; path and query are derived from it unless given. */
  target: WireBytes;
  path?: WireBytes;
  query?: WireBytes;
  version?: string;
  headers?: ReadonlyArray<readonly [WireBytes, WireBytes]>;
  scheme?: string;
  clientAddr?: string;
  clientPort?: number;
  serverAddr?: string;
  serverPort?: number;
  serverName?: string;
  requestId?: string;
  /** Exact body length; null for a body of unknown length (chunked). Default 0. */
  bodyLength?: number | null;
  scriptName?: WireBytes;
  upgrade?: string;
  /** Extra keys appended after the SPEC's (unknown keys a worker must ignore, §7). */
  extra?: ReadonlyArray<readonly [string, MpValue]>;
  /** Replace the value of SPEC keys (wrong types, ext values, wide integers). */
  override?: Readonly<Record<string, MpValue>>;
  /** Leave SPEC keys out (a missing required key is BAD_PAYLOAD). */
  omit?: readonly string[];
  /** Write the keys in reverse order (SPEC §7.2: receivers accept any key order). */
  reverseKeys?: boolean;
}

export const DEFAULT_SERVER_NAME = 'conformance.test';

export function bytes(value: WireBytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value);
}

let requestCounter = 0;

/** A fresh request id, unique within this process (SPEC §7.2 `request_id`, at most 200 bytes). */
export function newRequestId(): string {
  requestCounter += 1;
  return `conformance-${process.pid}-${requestCounter}`;
}

/** The environ map of SPEC §7.2, in canonical key order unless the spec asks otherwise. */
export function environEntries(spec: RequestSpec): Array<[string, MpValue]> {
  const target = bytes(spec.target);
  const question = target.indexOf(0x3f);
  const path = spec.path ?? (question >= 0 ? target.subarray(0, question) : target);
  const query = spec.query ?? (question >= 0 ? target.subarray(question + 1) : Buffer.alloc(0));
  const headers = (spec.headers ?? [['host', DEFAULT_SERVER_NAME]]).map(([name, value]) => [
    bytes(name),
    bytes(value),
  ]);
  let entries: Array<[string, MpValue]> = [
    ['method', spec.method ?? 'GET'],
    ['target', target],
    ['path', bytes(path)],
    ['query', bytes(query)],
    ['version', spec.version ?? 'HTTP/1.1'],
    ['headers', headers],
    ['scheme', spec.scheme ?? 'http'],
    ['client_addr', spec.clientAddr ?? '127.0.0.1'],
    ['client_port', spec.clientPort ?? 40000],
    ['server_addr', spec.serverAddr ?? '127.0.0.1'],
    ['server_port', spec.serverPort ?? 8080],
    ['server_name', spec.serverName ?? DEFAULT_SERVER_NAME],
    ['request_id', spec.requestId ?? newRequestId()],
    ['body_length', spec.bodyLength === undefined ? 0 : spec.bodyLength],
  ];
  if (spec.scriptName !== undefined) entries.push(['script_name', bytes(spec.scriptName)]);
  if (spec.upgrade !== undefined) entries.push(['upgrade', spec.upgrade]);
  if (spec.override) {
    entries = entries.map(([key, value]) => [key, key in spec.override! ? spec.override![key] : value]);
    for (const [key, value] of Object.entries(spec.override)) {
      if (!entries.some(([existing]) => existing === key)) entries.push([key, value]);
    }
  }
  if (spec.omit) entries = entries.filter(([key]) => !spec.omit!.includes(key));
  if (spec.extra) entries.push(...spec.extra.map(([key, value]): [string, MpValue] => [key, value]));
  if (spec.reverseKeys) entries.reverse();
  return entries;
}

export function encodeEnvironPayload(spec: RequestSpec): Buffer {
  return encodeMsgpack(mpMap(environEntries(spec)));
}
