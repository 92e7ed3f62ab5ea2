/** Wire constants: SPEC §3, §4 and §15. */

/** SPEC §3: each side's first 8 bytes. */
export const PREFACE = Buffer.from('GATEWIRE', 'ascii');
export const PREFACE_SIZE = 8;

export const PROTOCOL_VERSION = 1;

/** SPEC §4.1: length u32, type u8, flags u8, stream id u32, all big-endian. */
export const FRAME_HEADER_SIZE = 10;

/** SPEC §4.2 */
export const FrameType = {
  HELLO: 0x01,
  AUTH: 0x02,
  REQUEST: 0x03,
  RESPONSE: 0x04,
  DATA: 0x05,
  TRAILERS: 0x06,
  WINDOW: 0x07,
  RESET: 0x08,
  GOAWAY: 0x09,
  PING: 0x0a,
  PONG: 0x0b,
  HEALTH: 0x0c,
  /** Requires the `queue` feature (SPEC §5.3, §6.4). */
  RECALL: 0x0d,
} as const;

export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

export const FRAME_TYPE_NAMES: readonly (FrameTypeName | undefined)[] = (() => {
  const names: (FrameTypeName | undefined)[] = [];
  for (const [name, code] of Object.entries(FrameType) as Array<[FrameTypeName, number]>) names[code] = name;
  return names;
})();

/** SPEC §4.3 */
export const Flags = {
  END_STREAM: 0x01,
} as const;

/** SPEC §15 */
export const Limits = {
  MIN_MAX_FRAME_SIZE: 65_536,
  MAX_MAX_FRAME_SIZE: 16_777_215,
  /** What a receiver accepts before it has sent its own HELLO. */
  DEFAULT_MAX_FRAME_SIZE: 65_536,
  MIN_INITIAL_WINDOW: 1024,
  MAX_WINDOW: 2_147_483_647,
  MAX_STREAMS: 2_147_483_647,
  MAX_STREAM_ID: 4_294_967_295,
  PING_PAYLOAD_SIZE: 8,
  WINDOW_PAYLOAD_SIZE: 4,
  MAX_FEATURES: 64,
  MIN_NONCE_SIZE: 16,
  MAX_NONCE_SIZE: 64,
  PROOF_SIZE: 32,
  MAX_NESTING_DEPTH: 16,
  MAX_HEADER_PAIRS: 4096,
  MAX_REQUEST_ID_BYTES: 200,
  MAX_MESSAGE_BYTES: 1024,
  HANDSHAKE_TIMEOUT_MS: 10_000,
} as const;

/** SPEC §5.3 */
export const Feature = {
  TRAILERS: 'trailers',
  UPGRADE: 'upgrade',
  HEALTH: 'health',
  QUEUE: 'queue',
} as const;

export type FeatureName = (typeof Feature)[keyof typeof Feature];
