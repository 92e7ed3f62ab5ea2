export {
  DEFAULT_CONFIG,
  DEFAULT_GROUP,
  DEFAULT_UPSTREAM_SETTINGS,
  type ProxyConfig,
  type ListenConfig,
  type UpstreamSettings,
  type UpstreamGroupConfig,
  type RouteConfig,
  type StaticRouteConfig,
  type LogConfig,
  type LogFormat,
  type LogLevel,
  type BufferingSetting,
} from './config.js';
export { validateConfig, RENAMED_KEYS } from './config-validation.js';
export { ConfigError, type ConfigErrorCode } from './config-error.js';
export {
  parseCommandLine,
  readConfigFile,
  applyOverrides,
  USAGE,
  VALUE_FLAGS,
  type CommandLine,
} from './config-sources.js';
