/**
 * @gatewire/protocol: the wire protocol of gatewire (protocol/SPEC.md), with no I/O.
 *
 * @example
 * ```ts
 * import { FrameDecoder, FrameEncoder, FrameType, decodeEnviron } from '@gatewire/protocol';
 * const encoder = new FrameEncoder();
 * encoder.preface();
 * socket.write(encoder.takeBuffer());
 * const decoder = new FrameDecoder({
 *   onFrame(type, flags, streamId, payload) {
 *     if (type === FrameType.REQUEST) console.log(decodeEnviron(payload).path);
 *   },
 *   onData(streamId, flags, chunk, endOfFrame) {},
 * });
 * socket.on('data', (chunk) => decoder.push(chunk));
 * ```
 */
export {
  PREFACE,
  PREFACE_SIZE,
  PROTOCOL_VERSION,
  FRAME_HEADER_SIZE,
  FrameType,
  FRAME_TYPE_NAMES,
  Flags,
  Limits,
  Feature,
} from './constants.js';
export type { FrameTypeName, FrameTypeCode, FeatureName } from './constants.js';
export { ErrorCode, ERROR_SCOPE, ProtocolError, errorCodeName, isProtocolError } from './errors.js';
export type { ErrorCodeName, ErrorScope } from './errors.js';
export { FrameDecoder, validateFrameHeader, quoteBytes } from './frame-decoder.js';
export type { FrameHandler, FrameDecoderOptions } from './frame-decoder.js';
export { FrameEncoder } from './frame-encoder.js';
export { decodeEnviron } from './environ.js';
export type { Environ } from './environ.js';
export { decodeResponseHead, decodeTrailers } from './response-head.js';
export type { ResponseHead } from './response-head.js';
export type { HeaderPair, HeaderPairs } from './header-pairs.js';
export {
  decodeHello,
  decodeAuth,
  decodeReset,
  decodeGoaway,
  decodeHealth,
  encodeHello,
  encodeAuth,
  encodeReset,
  encodeGoaway,
  encodeHealth,
  wireCodeOf,
} from './control-payloads.js';
export type { Hello, Auth, Reset, Goaway, Health } from './control-payloads.js';
export {
  authProof,
  verifyAuthProof,
  negotiateFeatures,
  expectRole,
  makeHello,
  newNonce,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_INITIAL_WINDOW,
} from './handshake.js';
export type { HelloOptions } from './handshake.js';
export { decodeFrames, FrameCollector } from './decode-frames.js';
export type { DecodedFrame } from './decode-frames.js';
export { MsgpackReader } from './msgpack-reader.js';
export { MsgpackWriter } from './msgpack-writer.js';
export { SendWindow, ReceiveWindow } from './flow-control.js';
