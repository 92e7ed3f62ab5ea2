import { Duplex } from 'node:stream';
import type { StreamTunnel, TunnelObserver } from './upgrade-tunnel.js';

const HANDSHAKE_PREFIX = 'HTTP/1.1 101 ';

/** What the duplex tells the WebSocket on top of it (implemented by GatewayWebSocket). */
export interface DuplexOwner {
  /** The 101 went out: the socket is open. */
  duplexOpened(): void;
}

function swallow(): void {}

/**
 * A node Duplex over an upgrade tunnel (SPEC §13), so that `ws` runs on it as on a TCP socket:
 * reads are DATA from the proxy (credit goes back only as `ws` consumes, SPEC §9), writes become
 * DATA to the proxy within the send window, `end()` half-closes (END_STREAM) and `destroy()`
 * resets the stream (CANCEL).
 *
 * `ws`'s WebSocketServer writes its own `HTTP/1.1 101 …` text to the socket it upgrades; over
 * gatewire the 101 is a RESPONSE frame instead (built from the same header lines, captured from the
 * server's 'headers' event), so the duplex drops that one write. Every other byte goes through.
 *
 * One object per socket; its callbacks are bound once, so no closure is made per message.
 */
export class TunnelDuplex extends Duplex implements TunnelObserver {
  #tunnel: StreamTunnel | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #owner: DuplexOwner | null = null;
  #handshakeWritten = false;
  #reading = false;
  #wantsRead = false;
  #writeCallback: ((error?: Error | null) => void) | null = null;
  #finalCallback: ((error?: Error | null) => void) | null = null;
  #opened = false;
  /** The tunnel failed on its own (reset, connection lost, never opened): nothing to reset. */
  #tunnelFailed = false;

  constructor() {
    // allowHalfOpen: the tunnel's two directions end separately (SPEC §13), as a TCP socket's do.
    super({ allowHalfOpen: true, decodeStrings: true });
  }

  /** Connects the duplex to its tunnel, once the 101 headers are known. */
  attach(tunnel: StreamTunnel, owner: DuplexOwner): void {
    this.#owner = owner;
    this.#tunnel = tunnel;
    this.#reader = tunnel.readable.getReader();
    // Failures surface through the read promise; this one only must not go unhandled.
    this.#reader.closed.catch(swallow);
    tunnel.observe(this);
    if (this.#wantsRead) this.#read();
  }

  /** Whether the 101 has gone out. */
  get opened(): boolean {
    return this.#opened;
  }

  // ── TunnelObserver ──

  tunnelOpened(): void {
    this.#opened = true;
    this.#owner?.duplexOpened();
  }

  tunnelFailed(reason: unknown): void {
    this.#tunnelFailed = true;
    if (!this.destroyed) this.destroy(asError(reason));
  }

  // ── Readable side ──

  override _read(): void {
    if (this.#reader === null) {
      this.#wantsRead = true;
      return;
    }
    this.#read();
  }

  #read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#reader!.read().then(this.#onChunk, this.#onReadError);
  }

  #onChunk = (result: ReadableStreamReadResult<Uint8Array>): void => {
    this.#reading = false;
    if (this.destroyed) return;
    if (result.done) {
      this.push(null); // the client half-closed its direction
      return;
    }
    // Chunks are Buffers from the frame decoder, never reused: no copy.
    if (this.push(result.value)) this.#read();
  };

  #onReadError = (error: unknown): void => {
    this.#reading = false;
    if (!this.destroyed) this.destroy(asError(error));
  };

  // ── Writable side ──

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#handshakeWritten) {
      this.#handshakeWritten = true;
      if (chunk.toString('latin1', 0, HANDSHAKE_PREFIX.length) === HANDSHAKE_PREFIX) {
        callback();
        return;
      }
    }
    this.#send(chunk, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    // ws corks a frame's header and payload together: one DATA frame instead of two.
    let length = 0;
    for (let i = 0; i < chunks.length; i++) length += chunks[i].chunk.length;
    const joined = Buffer.allocUnsafe(length);
    let offset = 0;
    for (let i = 0; i < chunks.length; i++) {
      const piece = chunks[i].chunk;
      joined.set(piece, offset);
      offset += piece.length;
    }
    this.#send(joined, callback);
  }

  #send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const tunnel = this.#tunnel;
    if (tunnel === null) {
      callback(new Error('the WebSocket tunnel is not attached'));
      return;
    }
    // Straight to the stream when the window is open (no WritableStream promise per message).
    const pending = tunnel.send(chunk);
    if (pending === null) {
      callback();
      return;
    }
    this.#writeCallback = callback;
    pending.then(this.#onWritten, this.#onWriteError);
  }

  #onWritten = (): void => {
    const callback = this.#writeCallback;
    this.#writeCallback = null;
    callback?.();
  };

  #onWriteError = (error: unknown): void => {
    const callback = this.#writeCallback;
    this.#writeCallback = null;
    callback?.(asError(error));
  };

  /** end(): half-close our direction (END_STREAM) once everything written has gone out. */
  override _final(callback: (error?: Error | null) => void): void {
    const tunnel = this.#tunnel;
    if (tunnel === null) {
      callback();
      return;
    }
    this.#finalCallback = callback;
    tunnel.close().then(this.#onClosed, this.#onCloseError);
  }

  #onClosed = (): void => {
    const callback = this.#finalCallback;
    this.#finalCallback = null;
    callback?.();
  };

  #onCloseError = (error: unknown): void => {
    const callback = this.#finalCallback;
    this.#finalCallback = null;
    callback?.(asError(error));
  };

  /** destroy(): reset the stream (CANCEL) unless both directions already ended. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const tunnel = this.#tunnel;
    if (tunnel !== null && !this.#tunnelFailed && !(this.writableFinished && this.readableEnded)) {
      // Straight to the stream, not through writer.abort(): that would wait for a write stuck on
      // credit. A stream that already ended ignores it.
      tunnel.abort(error ?? new Error('the WebSocket was terminated'));
      this.#reader!.cancel(error ?? undefined).catch(swallow);
    }
    callback(error);
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
