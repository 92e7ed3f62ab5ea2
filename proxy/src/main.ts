#!/usr/bin/env node
/**
 * `gatewire-proxy`: the only place that reads argv and the environment or calls process.exit
 * (STYLE #6). Loads the config (defaults < file < env < flags), starts the proxy, and shuts it
 * down gracefully on SIGTERM/SIGINT; a second signal forces the exit.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { AdminServer } from './admin/admin-server.js';
import {
  applyOverrides,
  ConfigError,
  parseCommandLine,
  readConfigFile,
  USAGE,
  validateConfig,
  type ProxyConfig,
} from './config/index.js';
import { createLogger } from './log/logger.js';
import { GatewireProxy } from './proxy-server.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function loadConfig(): { config: ProxyConfig; check: boolean } | null {
  const commandLine = parseCommandLine(process.argv.slice(2));
  if (commandLine.help) {
    process.stdout.write(`${USAGE}\n`);
    return null;
  }
  if (commandLine.version) {
    process.stdout.write(`gatewire-proxy ${version()}\n`);
    return null;
  }
  const path = commandLine.configPath ?? process.env.GATEWIRE_CONFIG ?? null;
  const file = path === null ? {} : readConfigFile(path);
  const raw = applyOverrides(file, process.env, commandLine, process.cwd());
  return { config: validateConfig(raw, path ?? 'config'), check: commandLine.check };
}

/** Exits once the (asynchronous) log destination has written everything, or after 1 s at most. */
function exit(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), 1000).unref();
  logger.flush(() => process.exit(code));
}

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatewire-proxy: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (loaded === null) return;
  const { config, check } = loaded;
  if (check) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  const logger = createLogger(config.log, { isTTY: process.stdout.isTTY === true });
  const proxy = new GatewireProxy(config, { logger });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      proxy.destroy();
      exit(logger, 1);
      return;
    }
    logger.info({ signal }, 'signal received: graceful shutdown');
    // Bound the whole shutdown: the front's grace period, then a little for the GOAWAYs.
    setTimeout(() => {
      logger.error('shutdown did not complete in time: exiting');
      proxy.destroy();
      exit(logger, 1);
    }, config.shutdownTimeoutMs + 5000).unref();
    proxy.shutdown().then(
      () => {
        logger.info('shutdown complete');
        exit(logger, 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(logger, 1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await proxy.listen();
  } catch (error) {
    logger.fatal({ err: error, listen: config.listen }, 'cannot listen');
    proxy.destroy();
    exit(logger, 1);
    return;
  }
  await startAdmin(proxy, logger);
}

/**
 * The admin listener (/metrics, /status), kept up while the proxy drains. A port that cannot be
 * bound is logged as an error and the proxy serves without it: traffic matters more than stats.
 */
async function startAdmin(proxy: GatewireProxy, logger: Logger): Promise<void> {
  const admin = proxy.config.admin;
  if (admin === null || proxy.metrics === null) return;
  const metrics = proxy.metrics;
  const server = new AdminServer({
    metrics,
    get state() {
      return proxy.state;
    },
  });
  try {
    const address = await server.listen(admin.host, admin.port);
    logger.info({ address: `${address.host}:${address.port}` }, 'admin listening');
  } catch (error) {
    logger.error(
      { err: error, admin: `${admin.host}:${admin.port}` },
      'admin listener not started: /metrics and /status are unavailable',
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gatewire-proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
