import { Flags, FrameType, PREFACE, authProof, type FrameTypeName, type Hello } from '../src/index.js';
import { encodeFrame, environToJson, helloToJson, type FrameJson } from './frame-json.js';
import { rawFrame } from './frame-vectors.js';
import { mp } from './msgpack-json.js';
import {
  CHUNKED_ENVIRON,
  OPTIONS_ENVIRON,
  PROXY_NONCE,
  SECRET,
  WORKER_NONCE,
  WRONG_SECRET,
} from './vector-fixtures.js';
import { bin, toHex, type BinJson, type WireJson, type WireMap } from './wire-json.js';

/**
 * Scripted conversations (protocol/vectors/sequences.json; format in vectors/README.md). The script
 * plays one side; the implementation under test (the "subject") plays the other. Each step either
 * sends bytes to the subject or expects the subject's next frame to match a pattern.
 */

export type SecretName = 'secret' | 'wrong_secret';

export interface SendStep {
  send: FrameJson | { type: 'PREFACE' | 'RAW'; note?: string };
  hex: string;
  /** On AUTH: how the proof was computed, so that a runner facing a live peer (fresh nonce) recomputes it. */
  proof?: { role: 'proxy' | 'worker'; secret: SecretName };
}

export interface ExpectStep {
  /** A pattern: given fields must match; payload maps match as subsets (vectors/README.md). */
  expect: {
    type: FrameTypeName | 'PREFACE' | 'CLOSE';
    flags?: number;
    stream_id?: number;
    payload?: WireJson;
  };
  /** The frame the reference transcript has here (fixed nonces); an example, not a requirement. */
  example?: string;
  proof?: { role: 'proxy' | 'worker'; secret: SecretName };
}

export type Step = SendStep | ExpectStep;

export interface Sequence {
  name: string;
  section: string;
  note: string;
  subject: 'worker' | 'proxy';
  /** The HELLO the transcript assumes from the subject; a runner checks (or configures) its limits. */
  subject_hello: WireMap;
  /** What the subject's application must do for the expectations to hold, if anything. */
  requires?: string;
  steps: Step[];
}

export interface SequenceFile {
  description: string;
  secret: BinJson;
  wrong_secret: BinJson;
  /** Subject frames a runner passes over while waiting for an expected frame of another type. */
  skippable: FrameTypeName[];
  sequences: Sequence[];
}

const SKIPPABLE: FrameTypeName[] = ['RESPONSE', 'DATA', 'TRAILERS', 'WINDOW', 'HEALTH'];

/** The worker the sequences talk to: a small window (so one DATA frame can overrun it) and 2 streams. */
const WORKER: Hello = {
  version: 1,
  role: 'worker',
  maxFrameSize: 65_536,
  initialWindow: 1024,
  maxStreams: 2,
  features: [],
  nonce: WORKER_NONCE,
};
const AUTH_WORKER: Hello = { ...WORKER, auth: 'hmac-sha256' };
const PROXY: Hello = {
  version: 1,
  role: 'proxy',
  maxFrameSize: 65_536,
  initialWindow: 65_536,
  maxStreams: 0,
  features: [],
  nonce: PROXY_NONCE,
};

const LIMIT_KEYS = ['version', 'role', 'max_frame_size', 'initial_window', 'max_streams', 'auth'];

function helloPattern(hello: Hello): WireMap {
  const full = helloToJson(hello);
  return Object.fromEntries(Object.entries(full).filter(([key]) => LIMIT_KEYS.includes(key)));
}

const CODE = {
  PROTOCOL_ERROR: 1,
  FLOW_CONTROL_ERROR: 3,
  FRAME_SIZE_ERROR: 4,
  BAD_PREFACE: 5,
  UNSUPPORTED_VERSION: 6,
  HANDSHAKE_ERROR: 7,
  AUTH_FAILED: 8,
  UNKNOWN_FRAME_TYPE: 9,
  BAD_PAYLOAD: 10,
  REFUSED_STREAM: 11,
  CANCEL: 12,
  STREAM_CLOSED: 13,
} as const;

const frame = (type: FrameTypeName, flags: number, streamId: number, payload: WireJson): FrameJson => ({
  type,
  flags,
  stream_id: streamId,
  payload,
});

function send(f: FrameJson, bytes?: Buffer): SendStep {
  return { send: f, hex: toHex(bytes ?? encodeFrame(f)) };
}

const sendPreface = (): SendStep => ({ send: { type: 'PREFACE' }, hex: toHex(PREFACE) });
const sendRaw = (note: string, bytes: Buffer): SendStep => ({
  send: { type: 'RAW', note },
  hex: toHex(bytes),
});
const sendHello = (hello: Hello): SendStep => send(frame('HELLO', 0, 0, helloToJson(hello)));

function sendAuth(role: 'proxy' | 'worker', secret: SecretName): SendStep {
  const key = secret === 'secret' ? SECRET : WRONG_SECRET;
  const proof = authProof(key, role, PROXY_NONCE, WORKER_NONCE);
  return { ...send(frame('AUTH', 0, 0, { proof: bin(proof) })), proof: { role, secret } };
}

const expectPreface = (): ExpectStep => ({ expect: { type: 'PREFACE' } });
const expectClose = (): ExpectStep => ({ expect: { type: 'CLOSE' } });

function expectHello(hello: Hello): ExpectStep {
  return {
    expect: { type: 'HELLO', stream_id: 0, payload: helloPattern(hello) },
    example: toHex(encodeFrame(frame('HELLO', 0, 0, helloToJson(hello)))),
  };
}

function expectAuth(role: 'proxy' | 'worker'): ExpectStep {
  const proof = bin(authProof(SECRET, role, PROXY_NONCE, WORKER_NONCE));
  return {
    expect: { type: 'AUTH', stream_id: 0, payload: { proof } },
    example: toHex(encodeFrame(frame('AUTH', 0, 0, { proof }))),
    proof: { role, secret: 'secret' },
  };
}

function expectGoaway(code: number): ExpectStep {
  return { expect: { type: 'GOAWAY', stream_id: 0, payload: { code } } };
}

function expectReset(streamId: number, code: number): ExpectStep {
  return {
    expect: { type: 'RESET', stream_id: streamId, payload: { code } },
    example: toHex(encodeFrame(frame('RESET', 0, streamId, { code }))),
  };
}

const PING_BYTES = bin('seq\x00ping');
const sendPing = (): SendStep => send(frame('PING', 0, 0, PING_BYTES));
const expectPong = (): ExpectStep => ({
  expect: { type: 'PONG', stream_id: 0, payload: PING_BYTES },
  example: toHex(encodeFrame(frame('PONG', 0, 0, PING_BYTES))),
});

/** The connection is still alive and has nothing else to say first: PING answered by PONG. */
const stillAlive = (): Step[] => [sendPing(), expectPong()];
const fails = (code: number): Step[] => [expectGoaway(code), expectClose()];

/** The script's opening as a proxy facing `worker`. */
function proxyOpening(worker: Hello = WORKER, hello: Hello = PROXY): Step[] {
  return [sendPreface(), sendHello(hello), expectPreface(), expectHello(worker)];
}

const environ = (streamId: number, end: boolean, env = OPTIONS_ENVIRON): SendStep =>
  send(
    frame(
      'REQUEST',
      end ? Flags.END_STREAM : 0,
      streamId,
      environToJson({ ...env, requestId: `seq-${streamId}` }),
    ),
  );

const STREAMS_STAY_ACTIVE =
  'the application does not finish its response before the request body has ended (an echo app), so that a stream the script leaves open stays active';

function workerSequences(): Sequence[] {
  const seq = (
    name: string,
    section: string,
    note: string,
    steps: Step[],
    extra: { requires?: string; worker?: Hello } = {},
  ): Sequence => ({
    name,
    section,
    note,
    subject: 'worker',
    subject_hello: helloToJson(extra.worker ?? WORKER),
    ...(extra.requires ? { requires: extra.requires } : {}),
    steps,
  });
  const windowFrame = (streamId: number, increment: number): SendStep => {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(increment);
    return send(
      frame('WINDOW', 0, streamId, { increment }),
      rawFrame(FrameType.WINDOW, 0, streamId, payload),
    );
  };
  return [
    seq('handshake', '§3 §5.1', 'both sides send preface and HELLO without waiting; PING then works', [
      ...proxyOpening(),
      ...stillAlive(),
    ]),
    seq(
      'request-accepted',
      '§7 §6.1',
      'a REQUEST is accepted; whatever the application answers is skippable',
      [...proxyOpening(), environ(1, true), ...stillAlive()],
    ),
    seq('request-before-hello', '§5.1', 'the first frame after the preface must be HELLO', [
      sendPreface(),
      environ(1, true),
      expectPreface(),
      expectHello(WORKER),
      ...fails(CODE.HANDSHAKE_ERROR),
    ]),
    seq('ping-before-hello', '§5.1', 'not even PING may come before HELLO', [
      sendPreface(),
      sendPing(),
      expectPreface(),
      expectHello(WORKER),
      ...fails(CODE.HANDSHAKE_ERROR),
    ]),
    seq('second-hello', '§5.1', 'a second HELLO is a HANDSHAKE_ERROR', [
      ...proxyOpening(),
      sendHello(PROXY),
      ...fails(CODE.HANDSHAKE_ERROR),
    ]),
    seq('hello-wrong-role', '§5.2', 'the proxy says it is a worker', [
      ...proxyOpening(WORKER, { ...PROXY, role: 'worker', maxStreams: 1 }),
      ...fails(CODE.HANDSHAKE_ERROR),
    ]),
    seq('hello-version-2', '§5.2', 'a version the worker does not speak', [
      ...proxyOpening(WORKER, { ...PROXY, version: 2 }),
      ...fails(CODE.UNSUPPORTED_VERSION),
    ]),
    seq(
      'bad-preface',
      '§3 §14.2',
      'an HTTP client dialed the worker socket; the worker has already sent its own preface and HELLO',
      [
        sendRaw(
          'an HTTP request line where the preface belongs',
          Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        ),
        expectPreface(),
        expectHello(WORKER),
        ...fails(CODE.BAD_PREFACE),
      ],
    ),
    seq(
      'oversize-frame',
      '§4.1',
      'a DATA header claiming 65537 bytes against max_frame_size 65536: the error comes right after the header',
      [
        ...proxyOpening(),
        environ(1, false),
        sendRaw(
          'DATA header with length 65537, no payload',
          rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(0), 65_537),
        ),
        ...fails(CODE.FRAME_SIZE_ERROR),
      ],
    ),
    seq('unknown-frame-type', '§4.2', 'frame type 0x0e is not defined', [
      ...proxyOpening(),
      sendRaw('a frame of type 0x0e on stream 0, empty', rawFrame(0x0e, 0, 0, Buffer.alloc(0))),
      ...fails(CODE.UNKNOWN_FRAME_TYPE),
    ]),
    seq('bad-payload', '§7 §14.1', 'a REQUEST whose payload is not MessagePack', [
      ...proxyOpening(),
      sendRaw(
        'REQUEST on stream 1 with the payload c1',
        rawFrame(FrameType.REQUEST, Flags.END_STREAM, 1, mp.raw('c1')),
      ),
      ...fails(CODE.BAD_PAYLOAD),
    ]),
    seq('response-from-proxy', '§4.2', 'a RESPONSE sent by the proxy: wrong side', [
      ...proxyOpening(),
      environ(1, false),
      send(frame('RESPONSE', Flags.END_STREAM, 1, { status: 200, headers: [] })),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq('health-from-proxy', '§4.2', 'HEALTH is sent by workers only', [
      ...proxyOpening(),
      send(frame('HEALTH', 0, 0, {})),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq(
      'recall-without-queue',
      '§5.3 §6.4',
      'RECALL exists only with the queue feature: without it, it is an undefined frame type',
      [
        ...proxyOpening(),
        environ(1, false),
        send(frame('RECALL', 0, 1, null)),
        ...fails(CODE.UNKNOWN_FRAME_TYPE),
      ],
    ),
    seq('request-id-repeated', '§6.1', 'stream ids strictly increase: a repeated id is a connection error', [
      ...proxyOpening(),
      environ(1, true),
      environ(1, true),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq('request-id-decreasing', '§6.1', 'stream 3 after stream 5 (gaps are fine, going back is not)', [
      ...proxyOpening(),
      environ(5, true),
      environ(3, true),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq('data-on-unopened-stream', '§6.1', 'DATA for a stream id above every REQUEST seen', [
      ...proxyOpening(),
      environ(1, false),
      send(frame('DATA', 0, 3, bin('x'))),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq('window-on-unopened-stream', '§6.1', 'WINDOW before any REQUEST', [
      ...proxyOpening(),
      windowFrame(1, 1024),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
    seq(
      'closed-stream-frames-ignored',
      '§6.1 §10',
      'after the proxy reset stream 1 (CANCEL), late DATA, WINDOW and RESET for it are ignored; RESET is never answered with RESET',
      [
        ...proxyOpening(),
        environ(1, true),
        send(frame('RESET', 0, 1, { code: CODE.CANCEL })),
        send(frame('DATA', Flags.END_STREAM, 1, bin('late'))),
        windowFrame(1, 4096),
        send(frame('RESET', 0, 1, { code: CODE.CANCEL })),
        ...stillAlive(),
      ],
    ),
    seq(
      'data-after-end-stream',
      '§6.2',
      'DATA after the REQUEST carried END_STREAM: a stream error, the connection continues',
      [
        ...proxyOpening(),
        environ(1, true),
        send(frame('DATA', 0, 1, bin('x'))),
        expectReset(1, CODE.STREAM_CLOSED),
        ...stillAlive(),
      ],
      {
        requires:
          'the application has not finished its response when the DATA arrives (the script writes REQUEST and DATA together)',
      },
    ),
    seq(
      'request-over-max-streams',
      '§6.3',
      'with max_streams 2 and streams 1 and 3 active, REQUEST 5 is refused without processing; the connection continues and stream 5 is closed',
      [
        ...proxyOpening(),
        environ(1, false),
        environ(3, false),
        environ(5, true),
        expectReset(5, CODE.REFUSED_STREAM),
        send(frame('DATA', Flags.END_STREAM, 5, bin('late'))),
        ...stillAlive(),
      ],
      { requires: STREAMS_STAY_ACTIVE },
    ),
    seq(
      'data-beyond-window',
      '§9',
      'the worker granted 1024 bytes (initial_window); one DATA frame of 1025 bytes overruns it',
      [
        ...proxyOpening(),
        environ(1, false, CHUNKED_ENVIRON),
        send(frame('DATA', 0, 1, bin('x'.repeat(1025)))),
        ...fails(CODE.FLOW_CONTROL_ERROR),
      ],
    ),
    seq('data-at-window', '§9', 'DATA of exactly the granted 1024 bytes is fine', [
      ...proxyOpening(),
      environ(1, false, CHUNKED_ENVIRON),
      send(frame('DATA', Flags.END_STREAM, 1, bin('x'.repeat(1024)))),
      ...stillAlive(),
    ]),
    seq(
      'window-increment-0',
      '§9',
      'a WINDOW increment of 0 on an open stream',
      [...proxyOpening(), environ(1, false), windowFrame(1, 0), ...fails(CODE.FLOW_CONTROL_ERROR)],
      { requires: STREAMS_STAY_ACTIVE },
    ),
    seq(
      'window-overflow',
      '§9',
      'two increments of 2147483647: whatever the window was, the second one raises it above 2147483647',
      [
        ...proxyOpening(),
        environ(1, false),
        windowFrame(1, 2_147_483_647),
        windowFrame(1, 2_147_483_647),
        ...fails(CODE.FLOW_CONTROL_ERROR),
      ],
      { requires: STREAMS_STAY_ACTIVE },
    ),
    seq(
      'auth-ok',
      '§5.4',
      'the proxy proves the secret, the worker proves it back; then the connection works',
      [...proxyOpening(AUTH_WORKER), sendAuth('proxy', 'secret'), expectAuth('worker'), ...stillAlive()],
      { worker: AUTH_WORKER },
    ),
    seq(
      'auth-wrong-proof',
      '§5.4',
      'a proof made with another secret',
      [...proxyOpening(AUTH_WORKER), sendAuth('proxy', 'wrong_secret'), ...fails(CODE.AUTH_FAILED)],
      { worker: AUTH_WORKER },
    ),
    seq(
      'request-before-auth',
      '§5.1 §5.4',
      'a REQUEST before the proxy proved the secret',
      [...proxyOpening(AUTH_WORKER), environ(1, true), ...fails(CODE.AUTH_FAILED)],
      { worker: AUTH_WORKER },
    ),
    seq(
      'second-auth',
      '§5.4',
      'a second AUTH after a successful one',
      [
        ...proxyOpening(AUTH_WORKER),
        sendAuth('proxy', 'secret'),
        expectAuth('worker'),
        sendAuth('proxy', 'secret'),
        ...fails(CODE.PROTOCOL_ERROR),
      ],
      { worker: AUTH_WORKER },
    ),
    seq('auth-not-asked', '§5.4', 'AUTH to a worker that did not ask for it', [
      ...proxyOpening(),
      sendAuth('proxy', 'secret'),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
  ];
}

function proxySequences(): Sequence[] {
  const seq = (name: string, section: string, note: string, steps: Step[]): Sequence => ({
    name,
    section,
    note,
    subject: 'proxy',
    subject_hello: helloToJson(PROXY),
    requires: 'the proxy is configured with the secret of this file and opens a connection to the script',
    steps,
  });
  const opening = (worker: Hello): Step[] => [
    sendPreface(),
    sendHello(worker),
    expectPreface(),
    expectHello(PROXY),
  ];
  return [
    seq(
      'proxy-auth-ok',
      '§5.4',
      "the worker asks for the proof; the proxy proves the secret and checks the worker's proof",
      [...opening(AUTH_WORKER), expectAuth('proxy'), sendAuth('worker', 'secret'), ...stillAlive()],
    ),
    seq(
      'proxy-worker-proof-wrong',
      '§5.4',
      "the worker's proof is made with another secret: mutual authentication fails",
      [
        ...opening(AUTH_WORKER),
        expectAuth('proxy'),
        sendAuth('worker', 'wrong_secret'),
        ...fails(CODE.AUTH_FAILED),
      ],
    ),
    seq('proxy-hello-role-proxy', '§5.2', "the worker's HELLO says it is a proxy", [
      ...opening({ ...WORKER, role: 'proxy', maxStreams: 0 }),
      ...fails(CODE.HANDSHAKE_ERROR),
    ]),
    seq('proxy-request-from-worker', '§4.2', 'only the proxy opens streams', [
      ...opening(WORKER),
      environ(1, true),
      ...fails(CODE.PROTOCOL_ERROR),
    ]),
  ];
}

export function buildSequencesFile(): SequenceFile {
  return {
    description:
      'Scripted conversations (SPEC §3–§11): the script plays one side, the subject the other. Play the steps in order; see README.md.',
    secret: bin(SECRET),
    wrong_secret: bin(WRONG_SECRET),
    skippable: SKIPPABLE,
    sequences: [...workerSequences(), ...proxySequences()],
  };
}
