/**
 * @gatewire/worker: runs a fetch-style app (`export default { fetch(request, env, ctx) }`, a
 * default-exported function, or a Hono app) as gatewire worker processes, behind the gatewire
 * proxy: what uWSGI and gunicorn are for Python apps.
 *
 * Most users run the CLI (`gatewire-worker app.ts --socket-dir /run/gatewire --processes 4`);
 * apps import only `upgradeWebSocket`, `upgradeTunnel` and the types.
 *
 * @example
 * ```ts
 * // app.ts
 * import type { WorkerEnv } from '@gatewire/worker';
 * export default {
 *   fetch(request: Request, env: WorkerEnv) {
 *     return new Response(`hello ${env.clientAddr}, request ${env.requestId}\n`);
 *   },
 * };
 * ```
 */
export type { FetchApp, FetchHandler, WorkerEnv, ExecutionContext } from './app-contract.js';
export { upgradeTunnel } from './upgrade-tunnel.js';
export type { UpgradeTunnel, UpgradeTunnelOptions } from './upgrade-tunnel.js';
export { upgradeWebSocket, isWebSocketUpgrade } from './websocket-upgrade.js';
export type { UpgradeWebSocketOptions, WebSocketUpgrade } from './websocket-upgrade.js';
export { GatewayWebSocket } from './websocket.js';
export type { GatewayWebSocketEventMap, WebSocketBinaryType, WebSocketData } from './websocket.js';
export { WebSocketCloseEvent, WebSocketErrorEvent } from './websocket-events.js';
export { WebSocketUpgradeError, WebSocketUpgradeErrorCode } from './websocket-error.js';
export type { WebSocketUpgradeErrorCodeName } from './websocket-error.js';
export { serve } from './serve.js';
export type { ServeOptions } from './serve.js';
export { WorkerServer } from './worker-server.js';
export type { WorkerServerOptions, WorkerServerState, RecycleReason } from './worker-server.js';
export { Supervisor } from './supervisor.js';
export type { SupervisorOptions, SupervisorState, ProcessInfo } from './supervisor.js';
export { loadApp } from './app-loader.js';
export type { LoadedApp } from './app-loader.js';
export { parseCommandLine, HELP_TEXT } from './cli-options.js';
export type { CommandLine } from './cli-options.js';
export { resolveConfig, DEFAULTS } from './worker-config.js';
export type { WorkerConfig, WorkerConfigInput, ListenTarget, LogLevel } from './worker-config.js';
export { createLogger } from './logger.js';
export type { LoggerOptions } from './logger.js';
export { WorkerError, WorkerErrorCode, isWorkerError } from './errors.js';
export type { WorkerErrorCodeName } from './errors.js';
