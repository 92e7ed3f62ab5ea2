import { FRAME_TYPE_NAMES, FrameType, PREFACE, type Environ } from '../src/index.js';
import { encodeFrame, environToJson, helloToJson, responseHeadToJson, type FrameJson } from './frame-json.js';
import { formatJson } from './json-format.js';
import { annotateMsgpack, formatHexLines, hexLines, quote, type HexLine } from './msgpack-annotate.js';
import { PROXY_HELLO, WORKER_HELLO } from './vector-fixtures.js';
import { bin } from './wire-json.js';

/**
 * The worked examples of SPEC §17, generated from the codec. Each block sits between
 * `<!-- examples:NAME -->` and `<!-- /examples:NAME -->` in SPEC.md; generate-spec-examples.ts
 * rewrites them and test/unit/protocol/spec-examples.test.ts checks they are current.
 */

export const EXAMPLE_NAMES = ['handshake', 'get', 'post'] as const;
export type ExampleName = (typeof EXAMPLE_NAMES)[number];

interface Step {
  from: 'proxy' | 'worker';
  /** A frame, or the preface. */
  frame: FrameJson | 'PREFACE';
  /** One sentence on why the frame looks as it does. */
  note?: string;
}

const COMMENT_COLUMN = 58;

const GET: Environ = {
  method: 'GET',
  target: '/hello?name=world',
  path: '/hello',
  query: 'name=world',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'example.com'],
    ['user-agent', 'curl/8.5.0'],
    ['accept', '*/*'],
  ],
  scheme: 'http',
  clientAddr: '192.0.2.7',
  clientPort: 50123,
  serverAddr: '192.0.2.1',
  serverPort: 80,
  serverName: 'example.com',
  requestId: 'r1',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};

const POST: Environ = {
  ...GET,
  method: 'POST',
  target: '/upload',
  path: '/upload',
  query: '',
  headers: [
    ['host', 'example.com'],
    ['content-type', 'text/plain'],
  ],
  requestId: 'r2',
  bodyLength: null,
};

const frame = (
  type: FrameJson['type'],
  flags: number,
  streamId: number,
  payload: FrameJson['payload'],
): FrameJson => ({
  type,
  flags,
  stream_id: streamId,
  payload,
});

const EXAMPLES: Record<ExampleName, Step[]> = {
  handshake: [
    { from: 'proxy', frame: 'PREFACE', note: 'sent as soon as the connection is up, without waiting (§3)' },
    {
      from: 'proxy',
      frame: frame('HELLO', 0, 0, helloToJson(PROXY_HELLO)),
      note: 'a proxy advertises max_streams 0; its nonce is 32 random bytes (fixed here)',
    },
    { from: 'worker', frame: 'PREFACE', note: 'the worker sends its own preface as soon as it has accepted' },
    {
      from: 'worker',
      frame: frame('HELLO', 0, 0, helloToJson(WORKER_HELLO)),
      note: 'features in effect: trailers and health, the ones both HELLOs list (§5.3); no `auth`, so the handshake is complete',
    },
  ],
  get: [
    {
      from: 'proxy',
      frame: frame('REQUEST', 1, 1, environToJson(GET)),
      note: 'END_STREAM: the request has no body; keys in canonical order (§7.2)',
    },
    {
      from: 'worker',
      frame: frame(
        'RESPONSE',
        0,
        1,
        responseHeadToJson({
          status: 200,
          headers: [
            ['content-type', 'text/plain'],
            ['content-length', '13'],
          ],
          reason: '',
        }),
      ),
      note: 'the final head; a body follows',
    },
    {
      from: 'worker',
      frame: frame('DATA', 1, 1, bin('Hello, world!')),
      note: 'the whole body, and END_STREAM',
    },
  ],
  post: [
    {
      from: 'proxy',
      frame: frame('REQUEST', 0, 3, environToJson(POST)),
      note: 'a chunked upload: body_length nil, no END_STREAM',
    },
    { from: 'proxy', frame: frame('DATA', 0, 3, bin('hello ')), note: 'the first chunk the client sent' },
    { from: 'proxy', frame: frame('DATA', 0, 3, bin('world')), note: 'the second chunk' },
    {
      from: 'proxy',
      frame: frame('DATA', 1, 3, bin('')),
      note: 'the client sent its last chunk: an empty DATA carries END_STREAM',
    },
    {
      from: 'worker',
      frame: frame('WINDOW', 0, 3, { increment: 11 }),
      note: 'the application consumed the 11 bytes; the worker grants them back (§9; the gatewire workers wait until half the window is consumed)',
    },
    {
      from: 'worker',
      frame: frame(
        'RESPONSE',
        0,
        3,
        responseHeadToJson({ status: 201, headers: [['content-type', 'text/plain']], reason: '' }),
      ),
    },
    {
      from: 'worker',
      frame: frame('DATA', 0, 3, bin('got 11 bytes')),
      note: 'no END_STREAM: trailers follow',
    },
    {
      from: 'worker',
      frame: frame('TRAILERS', 1, 3, [[bin('x-checksum'), bin('crc32=0d4a1185')]]),
      note: 'TRAILERS ends the stream (END_STREAM is required on it); both HELLOs listed `trailers`',
    },
  ],
};

function headerLines(bytes: Buffer): HexLine[] {
  const length = bytes.readUInt32BE(0);
  const type = bytes[4];
  const flags = bytes[5];
  const flagNames = flags & 1 ? ' (END_STREAM)' : '';
  return [
    { depth: 0, bytes: bytes.subarray(0, 4), comment: `length ${length}` },
    {
      depth: 0,
      bytes: bytes.subarray(4, 5),
      comment: `type 0x${type.toString(16).padStart(2, '0')} ${FRAME_TYPE_NAMES[type]}`,
    },
    {
      depth: 0,
      bytes: bytes.subarray(5, 6),
      comment: `flags 0x${flags.toString(16).padStart(2, '0')}${flagNames}`,
    },
    { depth: 0, bytes: bytes.subarray(6, 10), comment: `stream id ${bytes.readUInt32BE(6)}` },
  ];
}

function payloadLines(type: number, payload: Buffer): HexLine[] {
  if (payload.length === 0) return [];
  switch (type) {
    case FrameType.DATA:
    case FrameType.PING:
    case FrameType.PONG:
      return hexLines(payload, `body bytes ${quote(payload.toString('latin1'), true)}`, 0);
    case FrameType.WINDOW:
      return hexLines(payload, `increment ${payload.readUInt32BE(0)}`, 0);
    default:
      return annotateMsgpack(payload);
  }
}

function renderStep(step: Step, index: number): string {
  const to = step.from === 'proxy' ? 'worker' : 'proxy';
  const note = step.note ? ` ${step.note[0].toUpperCase()}${step.note.slice(1)}.` : '';
  if (step.frame === 'PREFACE') {
    const lines = formatHexLines(hexLines(PREFACE, '"GATEWIRE"', 0), COMMENT_COLUMN);
    return `${index}. **${step.from} → ${to}: preface**, 8 bytes.${note}\n\n\`\`\`text\n${lines}\n\`\`\``;
  }
  const bytes = encodeFrame(step.frame);
  const payload = bytes.subarray(10);
  const lines = formatHexLines([...headerLines(bytes), ...payloadLines(bytes[4], payload)], COMMENT_COLUMN);
  const title = `${index}. **${step.from} → ${to}: ${step.frame.type}**, stream ${step.frame.stream_id}, ${payload.length}-byte payload.`;
  const meaning = formatJson(step.frame, 100).trimEnd();
  return `${title}${note}\n\n\`\`\`text\n${lines}\n\`\`\`\n\nMeaning:\n\n\`\`\`json\n${meaning}\n\`\`\``;
}

/** The markdown between the markers of one example. */
export function renderExample(name: ExampleName): string {
  return EXAMPLES[name].map((step, i) => renderStep(step, i + 1)).join('\n\n');
}

const startMarker = (name: string) => `<!-- examples:${name} -->`;
const endMarker = (name: string) => `<!-- /examples:${name} -->`;

/** SPEC.md with every example block replaced by what the codec produces now. */
export function withExamples(spec: string): string {
  let out = spec;
  for (const name of EXAMPLE_NAMES) {
    const start = out.indexOf(startMarker(name));
    if (start < 0) throw new Error(`SPEC.md has no ${startMarker(name)} marker`);
    const contentStart = start + startMarker(name).length;
    const end = out.indexOf(endMarker(name), contentStart);
    const rest = end < 0 ? out.slice(contentStart) : out.slice(end + endMarker(name).length);
    out = `${out.slice(0, contentStart)}\n\n${renderExample(name)}\n\n${endMarker(name)}${rest}`;
  }
  return out;
}
