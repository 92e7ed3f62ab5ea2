#!/usr/bin/env node
/**
 * `gatewire-worker`: the CLI. The only module that reads argv and the environment, installs
 * signal handlers and calls process.exit (STYLE #6, #7). Three roles:
 *
 * - supervisor (`--socket-dir`, `--tcp`): forks worker processes (this same script);
 * - supervised worker process (its config arrives in GATEWIRE_WORKER_CHILD_CONFIG);
 * - single-process mode (`--socket PATH` or GATEWIRE_SOCKET): one worker, no supervisor.
 *
 * Exit codes: 0 done, 1 failure (crash loop, forced stop, crash), 2 usage error, 3 the app could
 * not be loaded.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { HELP_TEXT, parseCommandLine, type CommandLine } from './cli-options.js';
import { isWorkerError, type WorkerError } from './errors.js';
import { CHILD_CONFIG_ENV, isSupervisorMessage, type WorkerMessage } from './ipc-messages.js';
import { createLogger } from './logger.js';
import { Supervisor } from './supervisor.js';
import { resolveConfig, type WorkerConfig, type WorkerConfigInput } from './worker-config.js';
import { WorkerProcess, type SupervisorChannel } from './worker-process.js';
import { SOFTWARE } from './worker-server.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_APP = 3;

function exitCodeFor(error: unknown): number {
  return isWorkerError(error) && error.code.startsWith('APP_') ? EXIT_APP : EXIT_FAILURE;
}

/** The IPC channel of a forked worker process. */
function processChannel(): SupervisorChannel {
  return {
    send(message: WorkerMessage): void {
      if (process.connected) process.send?.(message);
    },
    onMessage(listener): void {
      process.on('message', (message: unknown, handle: unknown) => {
        if (isSupervisorMessage(message)) listener(message, handle as never);
      });
    },
    onDisconnect(listener): void {
      process.once('disconnect', listener);
    },
  };
}

function sendAndWait(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function runWorker(
  config: WorkerConfig,
  secret: string | undefined,
  supervised: boolean,
): Promise<void> {
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    name: config.name,
    role: 'worker',
  });
  let worker: WorkerProcess | null = null;
  let failed = false;
  let stopSignals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    stopSignals++;
    if (worker === null) {
      logger.info({ event: 'exit', signal }, `stopped by ${signal} before the app was loaded`);
      process.exit(0);
    }
    if (stopSignals > 1 && !supervised) {
      logger.warn(
        { event: 'exit', signal, in_flight: worker.server.inFlight },
        `second ${signal}: exiting now`,
      );
      worker.server.close('stopped');
      process.exit(EXIT_FAILURE);
    }
    void worker.drain(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (!supervised) {
      logger.warn(
        { event: 'signal-ignored', signal: 'SIGHUP' },
        'SIGHUP ignored: single-process mode has no rolling reload (use --socket-dir)',
      );
    }
  });
  // Scaling signals are for the supervisor; a worker must not stop on them (their default action).
  process.on('SIGTTIN', () => undefined);
  process.on('SIGTTOU', () => undefined);
  process.on('unhandledRejection', (reason) => {
    logger.error({ event: 'unhandled-rejection', err: reason }, 'unhandled promise rejection in the app');
  });
  process.on('uncaughtException', (error) => {
    failed = true;
    if (worker === null) {
      logger.fatal({ event: 'uncaught-exception', err: error }, 'uncaught exception while starting');
      process.exit(EXIT_FAILURE);
    }
    worker.crashed(error);
  });
  process.on('exit', () => worker?.removeSocketFile());

  const channel = supervised ? processChannel() : null;
  try {
    worker = await WorkerProcess.start({ config, logger, secret, channel });
  } catch (error) {
    const code = isWorkerError(error) ? error.code : 'START_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ event: 'start-failed', code, detail: message }, message);
    if (supervised) await sendAndWait({ type: 'fatal', code, message });
    process.exit(exitCodeFor(error));
  }
  const how = await worker.finished;
  logger.info(
    {
      event: 'exit',
      code: how === 'drained' && !failed ? 0 : EXIT_FAILURE,
      requests: worker.server.requests,
    },
    'worker exiting',
  );
  worker.removeSocketFile();
  process.exit(how === 'drained' && !failed ? 0 : EXIT_FAILURE);
}

async function runSupervisor(config: WorkerConfig): Promise<void> {
  const logger: Logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    name: config.name,
    role: 'supervisor',
  });
  const supervisor = new Supervisor({
    config,
    logger,
    workerScript: fileURLToPath(import.meta.url),
    env: process.env,
    execArgv: process.execArgv,
  });
  let exitCode = 0;
  let stopSignals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    stopSignals++;
    if (stopSignals > 1) {
      logger.warn({ event: 'kill', signal }, `second ${signal}: killing the worker processes`);
      supervisor.kill();
      exitCode = EXIT_FAILURE;
      return;
    }
    void supervisor.stop(signal).then(() => process.exit(exitCode));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void supervisor.reload());
  process.on('SIGTTIN', () => supervisor.addProcess());
  process.on('SIGTTOU', () => supervisor.removeProcess());
  supervisor.on('fatal', (error: WorkerError) => {
    exitCode = EXIT_FAILURE;
    void supervisor.stop(error.code).then(() => process.exit(EXIT_FAILURE));
  });
  try {
    await supervisor.start();
  } catch {
    // #fail logged why; stop what is left.
    await supervisor.stop('start failed');
    process.exit(EXIT_FAILURE);
  }
}

async function main(): Promise<void> {
  const childConfig = process.env[CHILD_CONFIG_ENV];
  if (childConfig !== undefined) {
    // The app must not see (nor pass on to its own children) the supervisor's hand-over.
    delete process.env[CHILD_CONFIG_ENV];
    const config = resolveConfig(JSON.parse(childConfig) as WorkerConfigInput);
    await runWorker(config, process.env.GATEWIRE_SECRET || undefined, true);
    return;
  }
  let command: CommandLine;
  try {
    command = parseCommandLine(process.argv.slice(2), process.env, process.stdout.isTTY === true);
  } catch (error) {
    if (isWorkerError(error)) {
      process.stderr.write(`gatewire-worker: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${HELP_TEXT}\n`);
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${SOFTWARE}\n`);
    return;
  }
  const { config, secret } = command;
  if (config.listen.kind === 'socket') await runWorker(config, secret, false);
  else await runSupervisor(config);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gatewire-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(EXIT_FAILURE);
});
