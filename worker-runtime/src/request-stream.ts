import {
  ErrorCode,
  ReceiveWindow,
  SendWindow,
  errorCodeName,
  type Environ,
  type FrameEncoder,
  type HeaderPairs,
} from '@gatewire/protocol';
import type { Logger } from 'pino';
import type { RequestSource } from './gateway-request.js';
import { RequestBody, type BodyOwner } from './request-body.js';

/** What a stream needs from its connection (implemented by WorkerConnection). */
export interface StreamHost {
  readonly encoder: FrameEncoder;
  readonly logger: Logger;
  /** The socket's write buffer is above its high-water mark: pumps wait. */
  readonly congested: boolean;
  scheduleFlush(): void;
  /** The stream has closed (both ends, or RESET): forget it (SPEC §6.3 "active"). */
  streamClosed(stream: RequestStream): void;
  /** The stream waits for the socket to drain. */
  waitForDrain(stream: RequestStream): void;
}

/** Something to cancel when the stream ends early: the reader of the app's response body. */
export interface BodySourceHandle {
  cancel(reason?: unknown): unknown;
}

/** The tunnel side a stream notifies (implemented by StreamTunnel). */
export interface TunnelHandle {
  fail(reason: unknown): void;
}

const EMPTY = new Uint8Array(0);

function swallow(): void {}

/**
 * Per-request state of one stream (SPEC §6): both ends, both flow-control windows, the body, the
 * abort signal, the response being written. Kept apart from the connection's state (STYLE #1).
 * Methods here write frames; the decision of what to write lives in response-writer.ts.
 */
export class RequestStream implements BodyOwner, RequestSource {
  readonly id: number;
  readonly environ: Environ;
  readonly host: StreamHost;
  /** performance.now() when the REQUEST arrived. */
  readonly startedAt: number;
  /** null when the REQUEST carried END_STREAM. */
  readonly body: RequestBody | null;
  /** END_STREAM received (SPEC §6.2 half-closed remote). */
  remoteEnded: boolean;
  /** END_STREAM sent. */
  localEnded = false;
  /** Both ends done or RESET: nothing more is sent or processed. */
  closed = false;
  /** The final RESPONSE has been sent. */
  headSent = false;
  /** A 101 was sent: the stream is a tunnel (SPEC §13) and no per-request timeout applies. */
  tunnelOpen = false;
  tunnel: TunnelHandle | null = null;
  /** The app's response body being pumped, to cancel on RESET. */
  bodySource: BodySourceHandle | null = null;
  #recv: ReceiveWindow | null;
  #send: SendWindow;
  #abort: AbortController | null = null;
  #aborted = false;
  #abortReason: unknown = undefined;
  #pending: Uint8Array | null = null;
  #pendingOffset = 0;
  #pendingEnd = false;
  #waiter: (() => void) | null = null;

  constructor(
    host: StreamHost,
    id: number,
    environ: Environ,
    endStream: boolean,
    receiveWindow: number,
    sendWindow: number,
    startedAt: number,
  ) {
    this.host = host;
    this.id = id;
    this.environ = environ;
    this.remoteEnded = endStream;
    this.startedAt = startedAt;
    this.#send = new SendWindow(sendWindow);
    if (endStream) {
      this.#recv = null;
      this.body = null;
    } else {
      this.#recv = new ReceiveWindow(receiveWindow);
      this.body = new RequestBody(this);
    }
  }

  /** Aborts when the proxy cancels the stream, the connection closes or the time limit passes (SPEC §10). */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Whether DATA can go out right now: window open, nothing pending, socket not congested. */
  get writable(): boolean {
    return !this.closed && this.#pending === null && this.#send.available > 0 && !this.host.congested;
  }

  // ── inbound (called by the connection) ──

  /** A piece of DATA (SPEC §8.2); throws FLOW_CONTROL_ERROR when the proxy overspends (SPEC §9). */
  receive(chunk: Buffer): void {
    this.#recv!.receive(chunk.length, this.id);
    this.body!.push(chunk);
  }

  /** END_STREAM received, with trailers if TRAILERS ended the stream (SPEC §8.3). */
  remoteEnd(trailers: HeaderPairs | null): void {
    this.remoteEnded = true;
    this.body?.end(trailers);
    if (this.localEnded) this.#finish();
  }

  /** WINDOW from the proxy (SPEC §9); throws FLOW_CONTROL_ERROR on 0 or overflow. */
  windowUpdate(increment: number): void {
    this.#send.grant(increment, this.id);
    if (this.#pending !== null) this.#sendPending();
    this.#wake();
  }

  /** The socket drained below its high-water mark. */
  drained(): void {
    this.#wake();
  }

  /** RESET from the proxy (SPEC §10): stop everything, send nothing more. */
  peerReset(code: number, message: string): void {
    if (this.closed) return;
    const reason =
      code === ErrorCode.CANCEL
        ? new DOMException('the client went away (the proxy cancelled the stream)', 'AbortError')
        : new DOMException(
            `the proxy reset the stream with ${errorCodeName(code)}${message ? `: ${message}` : ''}`,
            'AbortError',
          );
    this.#close(reason);
  }

  /** The connection closed or failed: the stream dies with it (SPEC §11). */
  connectionLost(reason: unknown): void {
    if (!this.closed) this.#close(reason);
  }

  // ── BodyOwner: credit back as the app consumes (SPEC §9) ──

  consumed(bytes: number): void {
    if (this.remoteEnded || this.closed) return;
    const increment = this.#recv!.consume(bytes);
    if (increment > 0) {
      this.host.encoder.window(this.id, increment);
      this.host.scheduleFlush();
    }
  }

  // ── outbound (called by the response writer and the tunnel) ──

  /** Sends the final RESPONSE (SPEC §8.1). */
  sendHead(status: number, headers: HeaderPairs, endStream: boolean): void {
    this.host.encoder.response(this.id, { status, headers, reason: '' }, endStream);
    this.headSent = true;
    this.host.scheduleFlush();
    if (endStream) this.#localEnd();
  }

  /**
   * Sends body bytes within the send window (SPEC §9); what does not fit waits for WINDOW.
   * Returns true when everything went out now. Must not be called while data is pending.
   */
  writeData(bytes: Uint8Array, endStream: boolean): boolean {
    const available = this.#send.available;
    const length = bytes.length;
    if (length <= available) {
      this.host.encoder.data(this.id, bytes, endStream);
      this.#send.spend(length);
      this.host.scheduleFlush();
      if (endStream) this.#localEnd();
      return true;
    }
    if (available > 0) {
      this.host.encoder.data(this.id, bytes.subarray(0, available), false);
      this.#send.spend(available);
      this.host.scheduleFlush();
    }
    this.#pending = bytes;
    this.#pendingOffset = available;
    this.#pendingEnd = endStream;
    return false;
  }

  /** Ends the body: an empty DATA with END_STREAM, after anything pending. */
  endData(): void {
    if (this.closed || this.localEnded) return;
    if (this.#pending !== null) this.#pendingEnd = true;
    else this.writeData(EMPTY, true);
  }

  /** Resolves when `writable` is true again, or the stream closed. */
  whenWritable(): Promise<void> {
    if (this.closed || this.writable) return Promise.resolve();
    if (this.host.congested) this.host.waitForDrain(this);
    return new Promise<void>((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Sends RESET (SPEC §10) and closes the stream; `reason` is what the app's signal reports. */
  reset(code: number, message: string, reason?: unknown): void {
    if (this.closed) return;
    this.host.encoder.reset(this.id, code, message);
    this.host.scheduleFlush();
    this.#close(reason ?? new DOMException(`the stream was reset: ${message}`, 'AbortError'));
  }

  #sendPending(): void {
    const pending = this.#pending!;
    const offset = this.#pendingOffset;
    const left = pending.length - offset;
    const available = this.#send.available;
    if (left <= available) {
      this.#pending = null;
      this.host.encoder.data(this.id, offset === 0 ? pending : pending.subarray(offset), this.#pendingEnd);
      this.#send.spend(left);
      this.host.scheduleFlush();
      if (this.#pendingEnd) this.#localEnd();
      return;
    }
    if (available === 0) return;
    this.host.encoder.data(this.id, pending.subarray(offset, offset + available), false);
    this.#send.spend(available);
    this.#pendingOffset = offset + available;
    this.host.scheduleFlush();
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    if (this.closed || this.writable) {
      this.#waiter = null;
      waiter();
    } else if (this.host.congested) this.host.waitForDrain(this);
  }

  #localEnd(): void {
    this.localEnded = true;
    if (this.remoteEnded) {
      this.#finish();
      return;
    }
    if (this.tunnelOpen) return; // a half-close; the proxy ends its direction when it is done (SPEC §13)
    // Early response (SPEC §10): the whole response is out while the body still arrives.
    this.host.encoder.reset(this.id, ErrorCode.NO_ERROR, 'response complete');
    this.host.scheduleFlush();
    this.body?.fail(new DOMException('the response was sent before the request body ended', 'AbortError'));
    this.#finish();
  }

  /** Normal end: the signal does not abort. */
  #finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.#pending = null;
    this.bodySource = null;
    this.#wake();
    this.host.streamClosed(this);
  }

  /** Abnormal end: abort the signal, fail the body and the tunnel, cancel the response body. */
  #close(reason: unknown): void {
    this.closed = true;
    this.#pending = null;
    this.#aborted = true;
    this.#abortReason = reason;
    if (this.#abort !== null) this.#abort.abort(reason);
    this.body?.fail(reason);
    this.tunnel?.fail(reason);
    const source = this.bodySource;
    if (source !== null) {
      this.bodySource = null;
      try {
        const result = source.cancel(reason);
        if (result instanceof Promise) result.catch(swallow);
      } catch {
        // the app's stream refused to cancel; nothing more to do
      }
    }
    this.#wake();
    this.host.streamClosed(this);
  }
}
