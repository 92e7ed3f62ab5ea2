import {
  ErrorCode,
  FRAME_TYPE_NAMES,
  Flags,
  FrameType,
  decodeGoaway,
  decodeReset,
  errorCodeName,
} from '@gatewire/protocol';

export interface ReceivedFrame {
  /** Position in the order the worker's frames arrived on this connection, from 1. */
  seq: number;
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function typeName(type: number): string {
  return FRAME_TYPE_NAMES[type] ?? `type 0x${type.toString(16).padStart(2, '0')}`;
}

/** `GOAWAY FRAME_SIZE_ERROR (4)`: a wire code with its SPEC §14.1 name. */
export function codeLabel(code: number): string {
  const name = errorCodeName(code);
  return ErrorCode[name] === code ? `${name} (${code})` : `unknown code ${code}`;
}

/** A one-line description of a frame for failure messages, e.g. `RESET(3, CANCEL (12))`. */
export function describeFrame(frame: Omit<ReceivedFrame, 'seq'>): string {
  const parts: string[] = [String(frame.streamId)];
  try {
    if (frame.type === FrameType.RESET) parts.push(codeLabel(decodeReset(frame.payload).code));
    else if (frame.type === FrameType.GOAWAY) {
      const goaway = decodeGoaway(frame.payload);
      parts.push(`last_stream ${goaway.lastStream}`, codeLabel(goaway.code));
      if (goaway.message) parts.push(JSON.stringify(goaway.message));
    } else if (frame.type === FrameType.DATA) parts.push(`${frame.payload.length} bytes`);
    else if (frame.type === FrameType.WINDOW && frame.payload.length === 4)
      parts.push(`+${frame.payload.readUInt32BE(0)}`);
  } catch {
    parts.push('undecodable payload');
  }
  if (frame.flags & Flags.END_STREAM) parts.push('END_STREAM');
  return `${typeName(frame.type)}(${parts.join(', ')})`;
}
