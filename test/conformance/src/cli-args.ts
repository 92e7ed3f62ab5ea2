import { parseArgs } from 'node:util';
import { ConformanceConfigError } from './errors.js';

export const USAGE = `Usage: gatewire-conformance --worker "<command>" [options]

Starts <command> through /bin/sh with GATEWIRE_SOCKET set to a socket path in a fresh temp
dir, waits for the socket, plays the proxy over it, and checks every behaviour protocol/SPEC.md
requires of a worker. One line per check, then a summary.

Options:
  --worker CMD         shell command that starts a worker listening on "$GATEWIRE_SOCKET" (required)
  --only NAMES         run only these checks: names, groups or patterns with *, comma-separated (repeatable)
  --skip NAMES         skip these checks, same forms (repeatable)
  --timeout MS         how long any one expected event may take (default 10000)
  --start-timeout MS   how long the worker may take to listen on its socket (default 20000)
  --cwd DIR            working directory of the worker command (default: the current one)
  --verbose            pass the worker's output through to stderr
  --list               list the checks and exit
  -h, --help           show this help

GATEWIRE_SECRET, if set, is the shared secret for a worker that asks for the proof (SPEC §5.4).
Exit status: 0 when no check failed, 1 when one did, 2 for a usage error or a worker that never listened.

Example:
  gatewire-conformance --worker 'node worker-runtime/dist/main.js test/conformance/apps/conformance-app.ts --socket "$GATEWIRE_SOCKET"'`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'list' }
  | {
      kind: 'run';
      worker: string;
      only: string[] | undefined;
      skip: string[];
      timeoutMs: number | undefined;
      startTimeoutMs: number | undefined;
      cwd: string | undefined;
      verbose: boolean;
    };

function milliseconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed <= 0)
    throw new ConformanceConfigError(
      `${flag} takes a positive number of milliseconds, got ${JSON.stringify(value)}`,
    );
  return parsed;
}

function names(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  return values
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** Parses the command line (without node and the script). Throws ConformanceConfigError on bad usage. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        worker: { type: 'string' },
        only: { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        'start-timeout': { type: 'string' },
        cwd: { type: 'string' },
        verbose: { type: 'boolean' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new ConformanceConfigError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.list) return { kind: 'list' };
  if (!values.worker || values.worker.trim() === '') {
    throw new ConformanceConfigError(
      '--worker is required: the shell command that starts a worker on "$GATEWIRE_SOCKET"',
    );
  }
  return {
    kind: 'run',
    worker: values.worker,
    only: names(values.only),
    skip: names(values.skip) ?? [],
    timeoutMs: milliseconds('--timeout', values.timeout),
    startTimeoutMs: milliseconds('--start-timeout', values['start-timeout']),
    cwd: values.cwd,
    verbose: values.verbose ?? false,
  };
}
