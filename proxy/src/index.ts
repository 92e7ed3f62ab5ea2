/** @gatewire/proxy: the HTTP edge server that fronts gatewire workers. */
export type {
  RequestHead,
  ConnectionInfo,
  AbortReason,
  Exchange,
  ExchangeHandler,
  Dispatcher,
  ExchangeRecord,
  ExchangeObserver,
} from './http/exchange.js';
export { HttpFront, type HttpFrontOptions } from './http/index.js';
export { StaticFiles, type StaticFilesOptions } from './static/index.js';
export { GatewireProxy, type GatewireProxyOptions } from './proxy-server.js';
export {
  validateConfig,
  applyOverrides,
  parseCommandLine,
  readConfigFile,
  ConfigError,
  DEFAULT_CONFIG,
  type ProxyConfig,
  type ConfigErrorCode,
} from './config/index.js';
export { ProxyError, PROXY_ERRORS, type ProxyErrorCode } from './errors/proxy-error.js';
export { createLogger } from './log/logger.js';
export { AccessLog } from './log/access-log.js';
export * from './dispatch/index.js';
export * from './upstream/index.js';
