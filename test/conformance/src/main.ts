#!/usr/bin/env node
/** The gatewire-conformance command. The only file that reads argv and env or exits the process. */
import { USAGE, parseCliArgs, type CliCommand } from './cli-args.js';
import { ALL_CHECKS } from './checks/index.js';
import { ConformanceConfigError, WorkerStartError } from './errors.js';
import { formatResult, formatSummary } from './report.js';
import { runConformance } from './run-conformance.js';

async function main(): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`gatewire-conformance: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === 'list') {
    for (const check of ALL_CHECKS)
      process.stdout.write(`${check.name.padEnd(40)} SPEC ${check.spec.padEnd(18)} ${check.title}\n`);
    return 0;
  }
  const secret = process.env.GATEWIRE_SECRET;
  try {
    const report = await runConformance({
      worker: {
        command: command.worker,
        cwd: command.cwd,
        env: process.env,
        onOutput: command.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
      },
      only: command.only,
      skip: command.skip.length ? [{ reason: 'skipped by --skip', tests: command.skip }] : [],
      timeoutMs: command.timeoutMs,
      startTimeoutMs: command.startTimeoutMs,
      secret: secret ? Buffer.from(secret, 'utf8') : undefined,
      onResult: (result) => process.stdout.write(`${formatResult(result)}\n`),
    });
    process.stdout.write(`${formatSummary(report)}\n`);
    return report.failed > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof WorkerStartError || error instanceof ConformanceConfigError) {
      process.stderr.write(`gatewire-conformance: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

// Interrupted: exit through process.exit so that running workers are killed (worker-process.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`gatewire-conformance: interrupted by ${signal}; stopping the worker\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`gatewire-conformance: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
