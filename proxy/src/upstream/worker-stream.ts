import { ReceiveWindow, SendWindow, type HeaderPairs } from '@gatewire/protocol';
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

/** One stream on a worker connection: ids, windows and end-of-stream state (SPEC §6, §9). */
export class WorkerStream {
  readonly id: number;
  readonly connection: WorkerConnection;
  listener: StreamListener;
  /** Credit for request DATA: the worker's initial_window, grown by its WINDOW frames. */
  readonly sendWindow: SendWindow;
  /** Credit granted to the worker for response DATA. */
  readonly receiveWindow: ReceiveWindow;
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
    this.sendWindow = new SendWindow(sendWindow);
    this.receiveWindow = new ReceiveWindow(receiveWindow);
    this.upgrade = upgrade;
  }

  /** Bytes of request body that may be sent now. */
  get sendCredit(): number {
    return this.sendWindow.available;
  }
}
