/** The HTTP/1.1 front: public surface of proxy/src/http. */
export type {
  RequestHead,
  ConnectionInfo,
  AbortReason,
  Exchange,
  ExchangeHandler,
  Dispatcher,
  ExchangeRecord,
  ExchangeObserver,
} from './exchange.js';
export {
  HttpFront,
  type HttpFrontConfig,
  type HttpFrontListenTarget,
  type HttpFrontCloseOptions,
  type HttpFrontState,
} from './http-front.js';
export {
  DEFAULT_HTTP_FRONT_OPTIONS,
  resolveHttpFrontOptions,
  type HttpFrontOptions,
} from './http-front-options.js';
export {
  HttpParseError,
  isHttpParseError,
  ParseErrorStatus,
  type ParseErrorCode,
  HttpFrontUsageError,
  UsageErrorCodes,
  type UsageErrorCode,
} from './http-errors.js';
export {
  RequestParser,
  ParseEvent,
  type ParseEventCode,
  type RequestParserLimits,
} from './request-parser.js';
export { ChunkedDecoder, ChunkEvent, type ChunkEventCode } from './chunked-decoder.js';
export { REQUEST_METHODS } from './request-methods.js';
export { reasonPhrase } from './status-reasons.js';
