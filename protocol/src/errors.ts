/**
 * Protocol error codes (SPEC §14.1). Numbers are stable: never renumber, never reuse a retired code.
 * `test/unit/protocol/spec-tables.test.ts` keeps this table and the SPEC's table identical.
 */
export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  FRAME_SIZE_ERROR: 4,
  BAD_PREFACE: 5,
  UNSUPPORTED_VERSION: 6,
  HANDSHAKE_ERROR: 7,
  AUTH_FAILED: 8,
  UNKNOWN_FRAME_TYPE: 9,
  BAD_PAYLOAD: 10,
  REFUSED_STREAM: 11,
  CANCEL: 12,
  STREAM_CLOSED: 13,
  TIMEOUT: 14,
  APP_ERROR: 15,
  INVALID_HEAD: 16,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

/** Whether an error ends the whole connection (GOAWAY) or one stream (RESET). SPEC §14.1 "scope". */
export type ErrorScope = 'connection' | 'stream' | 'both';

export const ERROR_SCOPE: Readonly<Record<ErrorCodeName, ErrorScope>> = {
  NO_ERROR: 'both',
  PROTOCOL_ERROR: 'connection',
  INTERNAL_ERROR: 'both',
  FLOW_CONTROL_ERROR: 'connection',
  FRAME_SIZE_ERROR: 'connection',
  BAD_PREFACE: 'connection',
  UNSUPPORTED_VERSION: 'connection',
  HANDSHAKE_ERROR: 'connection',
  AUTH_FAILED: 'connection',
  UNKNOWN_FRAME_TYPE: 'connection',
  BAD_PAYLOAD: 'connection',
  REFUSED_STREAM: 'stream',
  CANCEL: 'stream',
  STREAM_CLOSED: 'stream',
  TIMEOUT: 'stream',
  APP_ERROR: 'stream',
  INVALID_HEAD: 'stream',
};

const NAME_BY_NUMBER = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as Array<[ErrorCodeName, number]>).map(([name, value]) => [value, name]),
);

/** The name of a wire code; unknown codes read as INTERNAL_ERROR (SPEC §14.1, last paragraph). */
export function errorCodeName(wireCode: number): ErrorCodeName {
  return NAME_BY_NUMBER.get(wireCode) ?? 'INTERNAL_ERROR';
}

/**
 * A violation of the gatewire protocol, or a payload that cannot be encoded.
 * Match on `code` (the SPEC name); `wireCode` is the number sent in RESET/GOAWAY.
 */
export class ProtocolError extends Error {
  readonly code: ErrorCodeName;
  readonly wireCode: number;
  /** Set when the error concerns one stream only (sent as RESET rather than GOAWAY). */
  readonly streamId: number;

  constructor(code: ErrorCodeName, message: string, streamId = 0) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.wireCode = ErrorCode[code];
    this.streamId = streamId;
  }

  get isStreamError(): boolean {
    return this.streamId !== 0;
  }
}

export function isProtocolError(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError;
}
