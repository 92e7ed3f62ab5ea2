import { FRAME_HEADER_SIZE } from '@gatewire/protocol';

/**
 * One frame exactly as given (SPEC §4.1): no validation, so that checks can send what a correct
 * proxy never would (reserved flags, wrong stream ids, wrong sizes).
 */
export function rawFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

/** Only the 10-byte header (SPEC §4.1), e.g. to announce a length whose payload never follows. */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header[4] = type;
  header[5] = flags;
  header.writeUInt32BE(streamId, 6);
  return header;
}

export function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}
