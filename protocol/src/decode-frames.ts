import { FrameType } from './constants.js';
import { FrameDecoder, type FrameDecoderOptions, type FrameHandler } from './frame-decoder.js';

/** A whole frame, DATA pieces joined (tests, tools and the conformance suite; not the hot path). */
export interface DecodedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Collects whole frames from a FrameDecoder, joining DATA pieces. */
export class FrameCollector implements FrameHandler {
  readonly frames: DecodedFrame[] = [];
  #dataPieces: Buffer[] = [];

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    this.frames.push({ type, flags, streamId, payload: Buffer.from(payload) });
  }

  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void {
    this.#dataPieces.push(Buffer.from(chunk));
    if (!endOfFrame) return;
    const payload = this.#dataPieces.length === 1 ? this.#dataPieces[0] : Buffer.concat(this.#dataPieces);
    this.#dataPieces = [];
    this.frames.push({ type: FrameType.DATA, flags, streamId, payload });
  }
}

/** Decodes a complete byte sequence (or a sequence of chunks) into whole frames. Throws ProtocolError. */
export function decodeFrames(
  input: Uint8Array | Iterable<Uint8Array>,
  options: FrameDecoderOptions = {},
): DecodedFrame[] {
  const collector = new FrameCollector();
  const decoder = new FrameDecoder(collector, options);
  const chunks = input instanceof Uint8Array ? [input] : input;
  for (const chunk of chunks)
    decoder.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
  return collector.frames;
}
