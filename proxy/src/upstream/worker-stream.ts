import { Limits, ProtocolError, type HeaderPairs } from '@gatewire/protocol';
import type { RawResponseHead } from './response-head-reader.js';
import type { WorkerConnection } from './worker-connection.js';

/** Why a stream ended without the worker completing it, as the connection saw it. */
export type StreamFailure =
  /** The worker never processed it (above GOAWAY's last_stream, or the REQUEST was never written): safe to retry. */
  | 'refused'
  /** The connection closed or failed after the REQUEST was written. */
  | 'connection-lost'
  /** The worker broke the protocol (connection error, or a stream error on this stream). */
  | 'protocol-error'
  /** The response head was rejected (status out of 100…599): RESET INVALID_HEAD was sent (SPEC §8.1). */
  | 'invalid-head';

/**
 * What a stream's owner (one proxied request) hears from the worker. Called only while the stream
 * is open; after a terminal callback (end of response and request, reset, failure) nothing more.
 */
export interface StreamListener {
  /** An informational (1xx, not 101) head. SPEC §8.1 */
  onInformational(status: number, headers: HeaderPairs): void;
  /**
   * The final head (status 200…599, or 101), structure checked, fields still bytes. `head` is valid
   * only during the call (the connection refills it for the next RESPONSE). `endStream`: no body.
   */
  onResponseHead(head: RawResponseHead, endStream: boolean): void;
  /** A piece of response body (or tunnel bytes): a view into the socket's chunk. Report consumption with `connection.consumed`. */
  onResponseData(chunk: Buffer, endStream: boolean): void;
  /** Response trailers; the response is complete. SPEC §8.3 */
  onResponseTrailers(trailers: HeaderPairs): void;
  /** The send window grew (WINDOW): more request body may be sent. SPEC §9 */
  onRequestWritable(): void;
  /** The worker reset the stream. SPEC §10 */
  onStreamReset(code: number, message: string): void;
  /** The stream ended because of the connection (or a stream error the proxy detected). */
  onStreamFailed(failure: StreamFailure, message: string): void;
}

/**
 * One stream on a worker connection: ids, windows and end-of-stream state (SPEC §6, §9). The two
 * flow-control windows are plain fields here (the protocol's SendWindow/ReceiveWindow semantics,
 * without two more objects per request).
 */
export class WorkerStream {
  readonly id: number;
  readonly connection: WorkerConnection;
  listener: StreamListener;
  /** Credit for request DATA: the worker's initial_window, grown by its WINDOW frames. */
  sendCredit: number;
  /** Response DATA bytes the worker may still send (the credit granted to it). */
  receiveRemaining: number;
  /** Response bytes the client consumed and not yet granted back. */
  #consumed = 0;
  readonly #receiveInitial: number;
  /** END_STREAM sent (request side done). */
  localEnded = false;
  /** END_STREAM received (response side done). */
  remoteEnded = false;
  /** The final RESPONSE arrived. */
  finalHead = false;
  /** The stream left the connection's table. */
  closed = false;
  /** The REQUEST asked for an upgrade (a 101 is acceptable). */
  readonly upgrade: boolean;
  /**
   * SPEC §6.4: the whole request went in the REQUEST frame (no body to replay) and no RECALL was
   * sent yet, so the worker may be asked to give it back if it has not started it.
   */
  recallable = false;
  /** A RECALL was sent: a REFUSED_STREAM answer is the worker giving it back, not a full worker. */
  recalled = false;

  constructor(
    id: number,
    connection: WorkerConnection,
    listener: StreamListener,
    sendWindow: number,
    receiveWindow: number,
    upgrade: boolean,
  ) {
    this.id = id;
    this.connection = connection;
    this.listener = listener;
    this.sendCredit = sendWindow;
    this.receiveRemaining = receiveWindow;
    this.#receiveInitial = receiveWindow;
    this.upgrade = upgrade;
  }

  /** DATA of `bytes` sent (the caller kept within sendCredit). */
  spend(bytes: number): void {
    this.sendCredit -= bytes;
  }

  /** A WINDOW from the worker (SPEC §9): FLOW_CONTROL_ERROR on 0 or overflow. */
  grant(increment: number): void {
    if (increment < 1 || increment > Limits.MAX_WINDOW) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `WINDOW increment ${increment} on stream ${this.id} is not in 1…${Limits.MAX_WINDOW}`,
      );
    }
    const next = this.sendCredit + increment;
    if (next > Limits.MAX_WINDOW) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `WINDOW on stream ${this.id} would raise the window to ${next}, above ${Limits.MAX_WINDOW}`,
      );
    }
    this.sendCredit = next;
  }

  /** Response DATA arrived (SPEC §9): FLOW_CONTROL_ERROR when the worker overspends. */
  receive(bytes: number): void {
    this.receiveRemaining -= bytes;
    if (this.receiveRemaining < 0) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `peer sent ${-this.receiveRemaining} bytes of DATA beyond the window on stream ${this.id}`,
      );
    }
  }

  /**
   * The client took `bytes`: returns the WINDOW increment to send now, or 0. Credit goes back once
   * half the initial window is consumed (SPEC §9, as both gatewire workers do).
   */
  consume(bytes: number): number {
    const consumed = this.#consumed + bytes;
    if (consumed < this.#receiveInitial >>> 1) {
      this.#consumed = consumed;
      return 0;
    }
    this.#consumed = 0;
    this.receiveRemaining += consumed;
    return consumed;
  }
}
