/**
 * The proxy tunnels WebSocket bytes without speaking WebSocket (SPEC §13). One exception: when the
 * tunnel dies under a WebSocket (the worker process crashed, its connection closed, the tunnel went
 * idle), the client should learn it from a close frame — 1011 "internal error", 1001 "going away"
 * for the idle timeout (RFC 6455 §7.4.1) — rather than from a bare TCP close, which it reports as
 * 1006. A close frame may only go between two frames, so this tracker follows the frame boundaries
 * of what the worker sent (RFC 6455 §5.2: headers parsed, payloads skipped), and notes whether the
 * worker already sent a close frame of its own.
 */
export class WebSocketFrameTracker {
  /** Payload bytes of the current frame still to come. */
  #payloadLeft = 0;
  /** A frame header split across chunks: its bytes so far (at most 14). */
  readonly #header = Buffer.alloc(14);
  #headerLength = 0;
  #closeSeen = false;
  /** A length beyond 2^53: never at a boundary again, so nothing is ever written into the stream. */
  #lost = false;

  /** Whether a close frame may be written now: between frames, and none was sent by the worker. */
  get canClose(): boolean {
    return this.#payloadLeft === 0 && this.#headerLength === 0 && !this.#closeSeen && !this.#lost;
  }

  /** Follows bytes the worker sent to the client. */
  observe(chunk: Uint8Array): void {
    const length = chunk.length;
    let offset = 0;
    while (offset < length && !this.#lost) {
      if (this.#payloadLeft > 0) {
        const skip = Math.min(this.#payloadLeft, length - offset);
        this.#payloadLeft -= skip;
        offset += skip;
        continue;
      }
      this.#header[this.#headerLength++] = chunk[offset++];
      this.#headerComplete();
    }
  }

  /** Ends the header when all its bytes are in: 2, plus 2 or 8 of extended length, plus 4 of mask. */
  #headerComplete(): void {
    const header = this.#header;
    const have = this.#headerLength;
    if (have < 2) return;
    const length7 = header[1] & 0x7f;
    const size = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + ((header[1] & 0x80) !== 0 ? 4 : 0);
    if (have < size) return;
    if ((header[0] & 0x0f) === 0x8) this.#closeSeen = true;
    let payload: number;
    if (length7 === 126) payload = header.readUInt16BE(2);
    else if (length7 === 127) {
      const high = header.readUInt32BE(2);
      if (high > 0x1fffff) {
        this.#lost = true;
        return;
      }
      payload = high * 0x1_0000_0000 + header.readUInt32BE(6);
    } else payload = length7;
    this.#headerLength = 0;
    this.#payloadLeft = payload;
  }
}

/** An unmasked close frame (server to client, RFC 6455 §5.5.1) with `code` and a short reason. */
export function webSocketCloseFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const frame = Buffer.allocUnsafe(4 + text.length);
  frame[0] = 0x88; // FIN, opcode close
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
