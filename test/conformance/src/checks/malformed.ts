import { Flags, FrameType, Limits, type ErrorCodeName } from '@gatewire/protocol';
import { defineCheck, type Check } from '../check.js';
import type { CheckContext } from '../check-context.js';
import { encodeEnvironPayload, type RequestSpec } from '../environ-builder.js';
import { CheckFailed } from '../errors.js';
import { MpExt, MpRaw, encodeMsgpack, type MpValue } from '../msgpack-builder.js';
import type { PeerConnection } from '../peer-connection.js';
import type { PeerStream } from '../peer-stream.js';
import { frameHeader, rawFrame, u32 } from '../raw-frames.js';
import { expectConnectionError, expectHelloWorld, uniqueId } from './expect.js';

interface MalformedCase {
  name: string;
  spec: string;
  /** What the suite sends, for the title and failure messages. */
  trigger: string;
  code: ErrorCodeName;
  send(conn: PeerConnection, ctx: CheckContext): Promise<void> | void;
}

const INVALID_MSGPACK = Buffer.from([0xc1]);

/** A REQUEST with a hand-made payload on the next stream id. */
function sendRequestPayload(conn: PeerConnection, payload: Buffer): void {
  const stream = conn.declareStream(conn.highestStreamId + 1);
  conn.sendFrame(FrameType.REQUEST, Flags.END_STREAM, stream.id, payload);
}

function sendEnviron(conn: PeerConnection, spec: Partial<RequestSpec>): void {
  sendRequestPayload(conn, encodeEnvironPayload({ target: '/hello', ...spec }));
}

/** An open stream whose app does not answer (GET /wait), to aim stream frames at. */
function openWaiting(conn: PeerConnection): PeerStream {
  return conn.request({ target: `/wait?id=${uniqueId('malformed')}` });
}

function nested(depth: number): MpValue {
  let value: MpValue = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/**
 * DATA beyond the worker's window (SPEC §9). A worker may grant credit as fast as bytes arrive,
 * so keep sending one byte more than all the credit it granted, until it must have noticed.
 */
async function overrunWindow(conn: PeerConnection, ctx: CheckContext): Promise<void> {
  const window = conn.workerHello!.initialWindow;
  if (window > 16 * 1024 * 1024)
    ctx.skip(`initial_window is ${window}; overrunning it takes more than 16 MiB`);
  const stream = conn.request(
    { method: 'POST', target: `/wait?id=${uniqueId('overrun')}`, bodyLength: null },
    { endStream: false },
  );
  for (let round = 0; round < 4 && conn.goaways.length === 0 && !conn.closed; round++) {
    let remaining = Math.max(stream.sendCredit, 0) + 1;
    while (remaining > 0) {
      const size = Math.min(remaining, conn.workerMaxFrameSize);
      conn.sendFrame(FrameType.DATA, 0, stream.id, Buffer.alloc(size, 0x78));
      stream.sendCredit -= size;
      remaining -= size;
    }
    await conn
      .until(
        'a PONG or GOAWAY after DATA beyond the window',
        () => (conn.goaways.length > 0 ? true : undefined),
        50,
      )
      .catch(() => undefined);
    if (conn.goaways.length > 0 || conn.closed) break;
    await conn.barrier().catch(() => undefined);
  }
}

const CASES: MalformedCase[] = [
  {
    name: 'malformed.garbage',
    spec: '§4.1, §4.2',
    trigger: 'text bytes after the handshake ("this is not a frame", read as a length of 0x74686973)',
    code: 'FRAME_SIZE_ERROR',
    send: (conn) => conn.write(Buffer.from('this is not a gatewire frame\r\n', 'latin1')),
  },
  {
    name: 'malformed.oversize-length',
    spec: '§4.1',
    trigger: "a frame header announcing one byte more than the worker's max_frame_size (no payload follows)",
    code: 'FRAME_SIZE_ERROR',
    send: (conn) => conn.write(frameHeader(conn.workerMaxFrameSize + 1, FrameType.DATA, 0, 1)),
  },
  {
    name: 'malformed.unknown-type',
    spec: '§4.2',
    trigger: 'a frame of type 0x0e',
    code: 'UNKNOWN_FRAME_TYPE',
    send: (conn) => conn.write(rawFrame(0x0e, 0, 0)),
  },
  {
    name: 'malformed.reserved-flags',
    spec: '§4.3',
    trigger: 'PING with flag bit 0x80 set',
    code: 'PROTOCOL_ERROR',
    send: (conn) => conn.write(rawFrame(FrameType.PING, 0x80, 0, Buffer.alloc(8))),
  },
  {
    name: 'malformed.end-stream-on-ping',
    spec: '§4.3',
    trigger: 'PING with END_STREAM (reserved on PING)',
    code: 'PROTOCOL_ERROR',
    send: (conn) => conn.write(rawFrame(FrameType.PING, Flags.END_STREAM, 0, Buffer.alloc(8))),
  },
  {
    name: 'malformed.stream-frame-on-stream-0',
    spec: '§4.2',
    trigger: 'DATA on stream 0',
    code: 'PROTOCOL_ERROR',
    send: (conn) => conn.write(rawFrame(FrameType.DATA, 0, 0, Buffer.from('x'))),
  },
  {
    name: 'malformed.connection-frame-on-stream',
    spec: '§4.2',
    trigger: 'PING on stream 1',
    code: 'PROTOCOL_ERROR',
    send: (conn) => {
      conn.declareStream(1);
      conn.write(rawFrame(FrameType.PING, 0, 1, Buffer.alloc(8)));
    },
  },
  {
    name: 'malformed.window-length',
    spec: '§4.2',
    trigger: 'WINDOW with a 3-byte payload',
    code: 'FRAME_SIZE_ERROR',
    send: (conn) => {
      const stream = openWaiting(conn);
      conn.write(rawFrame(FrameType.WINDOW, 0, stream.id, Buffer.from([0, 0, 1])));
    },
  },
  {
    name: 'malformed.ping-length',
    spec: '§4.2',
    trigger: 'PING with a 7-byte payload',
    code: 'FRAME_SIZE_ERROR',
    send: (conn) => conn.write(rawFrame(FrameType.PING, 0, 0, Buffer.alloc(7))),
  },
  {
    name: 'malformed.environ-invalid-msgpack',
    spec: '§7, §14.1',
    trigger: 'a REQUEST whose payload is the byte 0xc1 (never valid MessagePack)',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendRequestPayload(conn, INVALID_MSGPACK),
  },
  {
    name: 'malformed.environ-not-a-map',
    spec: '§7',
    trigger: 'a REQUEST whose payload is an array',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendRequestPayload(conn, encodeMsgpack(['GET', '/hello'])),
  },
  {
    name: 'malformed.environ-missing-key',
    spec: '§7.2, §14.1',
    trigger: 'an environ without method',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendEnviron(conn, { omit: ['method'] }),
  },
  {
    name: 'malformed.environ-wrong-type',
    spec: '§7.2, §14.1',
    trigger: 'an environ whose headers is the integer 42',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendEnviron(conn, { override: { headers: 42 } }),
  },
  {
    name: 'malformed.environ-ext-type',
    spec: '§1, §14.1',
    trigger: 'an environ whose client_port is a MessagePack extension value',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendEnviron(conn, { override: { client_port: new MpExt(1, Buffer.from([0x50])) } }),
  },
  {
    name: 'malformed.environ-too-deep',
    spec: '§14.1, §15',
    trigger: 'an environ with an unknown key nested 20 arrays deep (limit 16)',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendEnviron(conn, { extra: [['x_deep', nested(20)]] }),
  },
  {
    name: 'malformed.environ-truncated',
    spec: '§7, §14.1',
    trigger: 'an environ cut one byte short',
    code: 'BAD_PAYLOAD',
    send: (conn) => {
      const payload = encodeEnvironPayload({ target: '/hello' });
      sendRequestPayload(conn, payload.subarray(0, payload.length - 1));
    },
  },
  {
    name: 'malformed.data-beyond-window',
    spec: '§9',
    trigger: 'DATA beyond the credit the worker granted',
    code: 'FLOW_CONTROL_ERROR',
    send: (conn, ctx) => overrunWindow(conn, ctx),
  },
  {
    name: 'malformed.window-zero',
    spec: '§9',
    trigger: 'WINDOW with increment 0 on an open stream',
    code: 'FLOW_CONTROL_ERROR',
    send: (conn) => conn.sendFrame(FrameType.WINDOW, 0, openWaiting(conn).id, u32(0)),
  },
  {
    name: 'malformed.window-overflow',
    spec: '§9',
    trigger: 'WINDOW +2147483647 on an open stream, raising its window past 2147483647',
    code: 'FLOW_CONTROL_ERROR',
    send: (conn) => conn.sendFrame(FrameType.WINDOW, 0, openWaiting(conn).id, u32(Limits.MAX_WINDOW)),
  },
  {
    name: 'malformed.stream-id-not-increasing',
    spec: '§6.1',
    trigger: 'REQUEST on stream 3 after stream 5',
    code: 'PROTOCOL_ERROR',
    async send(conn) {
      await conn.request({ target: '/hello' }, { streamId: 5 }).response();
      conn.request({ target: '/hello' }, { streamId: 3 });
    },
  },
  {
    name: 'malformed.stream-id-reused',
    spec: '§6.1',
    trigger: 'a second REQUEST on stream 5',
    code: 'PROTOCOL_ERROR',
    async send(conn) {
      await conn.request({ target: '/hello' }, { streamId: 5 }).response();
      conn.request({ target: '/hello' }, { streamId: 5 });
    },
  },
  {
    name: 'malformed.frame-for-idle-stream',
    spec: '§6.1',
    trigger: 'DATA on stream 9, above every stream opened',
    code: 'PROTOCOL_ERROR',
    async send(conn) {
      await expectHelloWorld(conn, 'GET /hello before the frame for an idle stream');
      conn.write(rawFrame(FrameType.DATA, 0, 9, Buffer.from('x')));
    },
  },
  {
    name: 'malformed.response-from-proxy',
    spec: '§4.2',
    trigger: 'a RESPONSE sent to the worker',
    code: 'PROTOCOL_ERROR',
    send: (conn) =>
      conn.sendFrame(
        FrameType.RESPONSE,
        0,
        openWaiting(conn).id,
        encodeMsgpack({ status: 200, headers: [] }),
      ),
  },
  {
    name: 'malformed.health-from-proxy',
    spec: '§4.2',
    trigger: 'a HEALTH sent to the worker',
    code: 'PROTOCOL_ERROR',
    send: (conn) => conn.sendFrame(FrameType.HEALTH, 0, 0, encodeMsgpack({})),
  },
  {
    name: 'malformed.trailers-without-end-stream',
    spec: '§4.3',
    trigger: 'TRAILERS without END_STREAM',
    code: 'PROTOCOL_ERROR',
    send: (conn) => {
      const stream = conn.request(
        { method: 'POST', target: '/echo', bodyLength: null },
        { endStream: false },
      );
      conn.sendFrame(FrameType.TRAILERS, 0, stream.id, encodeMsgpack([]));
    },
  },
  {
    name: 'malformed.reset-invalid-payload',
    spec: '§10, §14.1',
    trigger: 'RESET on an open stream with the payload 0xc1',
    code: 'BAD_PAYLOAD',
    send: (conn) => conn.sendFrame(FrameType.RESET, 0, openWaiting(conn).id, INVALID_MSGPACK),
  },
  {
    name: 'malformed.goaway-invalid-payload',
    spec: '§11, §14.1',
    trigger: 'GOAWAY with the payload 0xc1',
    code: 'BAD_PAYLOAD',
    send: (conn) => conn.sendFrame(FrameType.GOAWAY, 0, 0, INVALID_MSGPACK),
  },
  {
    name: 'malformed.invalid-msgpack-raw-in-map',
    spec: '§7, §14.1',
    trigger: 'an environ map whose method value is the byte 0xc1',
    code: 'BAD_PAYLOAD',
    send: (conn) => sendEnviron(conn, { override: { method: new MpRaw(INVALID_MSGPACK) } }),
  },
];

export const malformedChecks: Check[] = CASES.map((item) =>
  defineCheck({
    name: item.name,
    spec: item.spec,
    title: `${item.trigger} gets GOAWAY ${item.code} and a close; a new connection still works`,
    async run(ctx) {
      const conn = await ctx.connect();
      try {
        await item.send(conn, ctx);
      } catch (error) {
        if (error instanceof CheckFailed)
          throw new CheckFailed(`while sending ${item.trigger}: ${error.message}`);
        throw error;
      }
      await expectConnectionError(ctx, conn, item.code, item.trigger);
    },
  }),
);
