import {
  ErrorCode,
  Flags,
  FrameType,
  type HeaderPairs,
  type Reset,
  type ResponseHead,
} from '@gatewire/protocol';
import { CheckFailed } from './errors.js';
import { codeLabel, type ReceivedFrame } from './frame-names.js';
import type { PeerConnection } from './peer-connection.js';
import { u32 } from './raw-frames.js';
import { encodeMsgpack } from './msgpack-builder.js';

/** What the worker answered on a stream (SPEC §8). */
export interface StreamResult {
  /** The final RESPONSE (SPEC §8.1); undefined when the stream was reset before it. */
  head: ResponseHead | undefined;
  body: Buffer;
  trailers: HeaderPairs | undefined;
  /** The worker's RESET, if it sent one. */
  reset: Reset | undefined;
}

export interface SendBodyOptions {
  /** Set END_STREAM on the last DATA frame. Default true. */
  end?: boolean;
  /** Largest DATA payload to send (default: the worker's max_frame_size). */
  frameSize?: number;
}

/**
 * One stream as the suite (playing the proxy) sees it: what the worker sent on it, and the flow
 * control credit in both directions (SPEC §9). PeerConnection updates it as frames arrive.
 */
export class PeerStream {
  readonly id: number;
  readonly upgrade: boolean;
  readonly conn: PeerConnection;

  heads: ResponseHead[] = [];
  final: ResponseHead | undefined;
  chunks: Buffer[] = [];
  received = 0;
  trailers: HeaderPairs | undefined;
  /** The worker sent END_STREAM. */
  ended = false;
  workerReset: (Reset & { seq: number }) | undefined;
  /** Sequence number of the last worker frame seen before this side sent RESET. */
  ourResetAfterSeq: number | undefined;
  /** Frames the worker sent on this stream after this side's RESET (in flight, or a violation). */
  framesAfterOurReset: ReceivedFrame[] = [];
  /** This side sent END_STREAM. */
  localEnded = false;
  /** Bytes this side may still send (the worker's initial_window plus its WINDOW increments). */
  sendCredit: number;
  /** Bytes the worker may still send (this side's initial_window plus the WINDOWs sent). */
  recvCredit: number;
  /** Grant WINDOW for every DATA frame as it arrives (a fast consumer). */
  autoGrant: boolean;

  constructor(conn: PeerConnection, id: number, sendCredit: number, recvCredit: number, upgrade: boolean) {
    this.conn = conn;
    this.id = id;
    this.sendCredit = sendCredit;
    this.recvCredit = recvCredit;
    this.upgrade = upgrade;
    this.autoGrant = conn.autoGrant;
  }

  /** Over in the worker's direction: it ended or reset the stream. */
  get finished(): boolean {
    return this.ended || this.workerReset !== undefined;
  }

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }

  result(): StreamResult {
    return { head: this.final, body: this.body(), trailers: this.trailers, reset: this.workerReset };
  }

  /**
   * Sends a body as DATA frames, never more than the worker granted (SPEC §9): when the credit
   * runs out it waits for the worker's WINDOW. Returns 'reset' if the worker reset the stream.
   */
  async sendBody(data: Uint8Array, options: SendBodyOptions = {}): Promise<'sent' | 'reset'> {
    const end = options.end ?? true;
    const max = Math.min(options.frameSize ?? Infinity, this.conn.workerMaxFrameSize);
    if (data.length === 0) {
      if (end) this.end();
      return 'sent';
    }
    let offset = 0;
    while (offset < data.length) {
      await this.conn.until(
        `WINDOW from the worker on stream ${this.id}: ${offset} of ${data.length} body bytes sent and the worker's window is used up (SPEC §9: it grants credit as it consumes)`,
        () => (this.sendCredit > 0 || this.workerReset ? true : undefined),
      );
      if (this.workerReset) return 'reset';
      const size = Math.min(this.sendCredit, max, data.length - offset);
      const last = offset + size === data.length;
      this.conn.sendFrame(
        FrameType.DATA,
        last && end ? Flags.END_STREAM : 0,
        this.id,
        data.subarray(offset, offset + size),
      );
      this.sendCredit -= size;
      offset += size;
    }
    if (end) this.localEnded = true;
    return 'sent';
  }

  /** An empty DATA with END_STREAM (SPEC §7: the last DATA MAY be empty). */
  end(): void {
    this.conn.sendFrame(FrameType.DATA, Flags.END_STREAM, this.id);
    this.localEnded = true;
  }

  /** TRAILERS, which end the stream (SPEC §8.3). */
  sendTrailers(pairs: ReadonlyArray<readonly [string, string]>): void {
    const payload = encodeMsgpack(
      pairs.map(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]),
    );
    this.conn.sendFrame(FrameType.TRAILERS, Flags.END_STREAM, this.id, payload);
    this.localEnded = true;
  }

  grant(increment: number): void {
    this.conn.sendFrame(FrameType.WINDOW, 0, this.id, u32(increment));
    this.recvCredit += increment;
  }

  reset(code: number = ErrorCode.CANCEL, message = ''): void {
    this.ourResetAfterSeq = this.conn.lastSeq;
    this.conn.sendFrame(FrameType.RESET, 0, this.id, encodeMsgpack(message ? { code, message } : { code }));
  }

  /** Waits until the worker ended or reset the stream. */
  async response(what = `the end of the response on stream ${this.id}`): Promise<StreamResult> {
    return this.conn.until(what, () => (this.finished ? this.result() : undefined));
  }

  /** Waits for the final RESPONSE head. */
  async head(): Promise<ResponseHead> {
    return this.conn.until(`the RESPONSE on stream ${this.id}`, () => {
      if (this.final) return this.final;
      if (this.workerReset)
        throw new CheckFailed(
          `the worker reset stream ${this.id} with ${codeLabel(this.workerReset.code)} before any RESPONSE${this.workerReset.message ? ` (${JSON.stringify(this.workerReset.message)})` : ''}`,
        );
      return undefined;
    });
  }
}
