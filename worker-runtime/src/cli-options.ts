import { WorkerError } from './errors.js';
import {
  DEFAULTS,
  LOG_LEVELS,
  resolveConfig,
  type ListenTarget,
  type LogLevel,
  type WorkerConfig,
  type WorkerConfigInput,
} from './worker-config.js';

/**
 * The help text of `gatewire-worker --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${HELP_TEXT}\n`);
 * ```
 */
export const HELP_TEXT = `Usage: gatewire-worker <app> (--socket-dir DIR | --socket PATH | --tcp tcp://HOST:PORT) [options]

Runs a fetch-style app (export default { fetch(request, env, ctx) }, a default-exported function,
or a Hono app) as gatewire worker processes. .ts apps load directly, no build step.

Where to listen (one of):
  --socket-dir DIR        a supervisor runs --processes workers, each on DIR/<name>.<pid>.sock
                          (env GATEWIRE_SOCKET_DIR)
  --socket PATH           single-process mode: one worker on exactly PATH, no supervisor
                          (env GATEWIRE_SOCKET)
  --tcp tcp://HOST:PORT   TCP; the supervisor hands connections to its processes. Requires the
                          shared secret in GATEWIRE_SECRET (SPEC §5.4)

  GATEWIRE_SECRET         when set, every proxy connection (Unix socket or TCP) must prove it

Options:
  <app>                   path of the app module (env GATEWIRE_APP)
  --name NAME             label in socket names and logs, [A-Za-z0-9_-] (default: <app file name>-<hostname>)
  --processes N           worker processes (default ${DEFAULTS.processes})
  --concurrency N         max_streams advertised per connection (default ${DEFAULTS.concurrency})
  --max-requests N        recycle a process after N requests (default 0: never)
  --max-requests-jitter N add 0…N requests per process, so they do not recycle together
                          (default N/10)
  --timeout SECONDS       per-request limit: the stream is reset with TIMEOUT; a process whose
                          event loop is stuck that long is killed and replaced (default 0: none)
  --max-memory MB         recycle a process whose resident set exceeds MB (default 0: never)
  --grace SECONDS         how long draining may take before a process is killed (default ${DEFAULTS.graceMs / 1000})
  --log-level LEVEL       ${LOG_LEVELS.join(' | ')} (default ${DEFAULTS.logLevel})
  --log-format FORMAT     json | pretty (default: pretty on a terminal, json otherwise)
  --plain-web-objects     give apps plain undici Request/Response objects (slower; for debugging)
  -h, --help              show this text
  --version               print the version

Signals (supervisor): SIGHUP rolling reload, SIGTERM/SIGINT graceful stop (twice: kill),
SIGTTIN/SIGTTOU add/remove one process. Single-process mode drains on SIGTERM/SIGINT.
Exit codes: 0 done, 1 failure (crash loop, forced stop), 2 bad command line, 3 app not loadable.`;

/**
 * What the command line asks for.
 *
 * @example
 * ```ts
 * const command: CommandLine = parseCommandLine(['--help'], {}); // { kind: 'help' }
 * ```
 */
export type CommandLine =
  { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: WorkerConfig; secret: string | undefined };

type FlagKind = 'string' | 'integer' | 'number' | 'boolean';
const FLAGS: Readonly<Record<string, FlagKind>> = {
  '--socket-dir': 'string',
  '--socket': 'string',
  '--tcp': 'string',
  '--name': 'string',
  '--processes': 'integer',
  '--concurrency': 'integer',
  '--max-requests': 'integer',
  '--max-requests-jitter': 'integer',
  '--timeout': 'number',
  '--max-memory': 'number',
  '--grace': 'number',
  '--log-level': 'string',
  '--log-format': 'string',
  '--plain-web-objects': 'boolean',
  '--help': 'boolean',
  '-h': 'boolean',
  '--version': 'boolean',
};

function bad(message: string): never {
  throw new WorkerError('CONFIG_INVALID', `${message} (see gatewire-worker --help)`);
}

/** Parses `tcp://host:port`. */
export function parseTcpAddress(value: string, flag = '--tcp'): { host: string; port: number } {
  const match = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(value);
  if (!match) bad(`${flag}: expected tcp://HOST:PORT, got ${JSON.stringify(value)}`);
  const port = Number(match[2]);
  if (port > 65_535) bad(`${flag}: port ${port} is not in 0…65535`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/**
 * Parses the command line and environment into a config (only main.ts passes the real argv/env).
 * Throws WorkerError CONFIG_INVALID naming the flag at fault.
 *
 * @example
 * ```ts
 * const command = parseCommandLine(['app.ts', '--socket-dir', '/run/gw', '--processes', '4'], {});
 * if (command.kind === 'run') console.log(command.config.processes); // 4
 * ```
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stdoutIsTTY = false,
): CommandLine {
  const values = new Map<string, string | number | boolean>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = FLAGS[flag];
    if (kind === undefined) bad(`unknown option ${flag}`);
    if (values.has(flag)) bad(`${flag} given twice`);
    if (kind === 'boolean') {
      if (eq > 0) bad(`${flag} takes no value`);
      values.set(flag, true);
      continue;
    }
    let raw: string;
    if (eq > 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && argv[i + 1].length > 2)) {
        bad(`${flag} needs a value`);
      }
      raw = argv[++i];
    }
    if (kind === 'integer') {
      if (!/^\d+$/.test(raw)) bad(`${flag}: expected a whole number, got ${JSON.stringify(raw)}`);
      values.set(flag, Number(raw));
    } else if (kind === 'number') {
      if (!/^\d+(\.\d+)?$/.test(raw)) bad(`${flag}: expected a number, got ${JSON.stringify(raw)}`);
      values.set(flag, Number(raw));
    } else values.set(flag, raw);
  }
  if (values.has('--help') || values.has('-h')) return { kind: 'help' };
  if (values.has('--version')) return { kind: 'version' };

  if (positionals.length > 1)
    bad(`expected one app path, got ${positionals.length}: ${positionals.join(' ')}`);
  const app = positionals[0] ?? env.GATEWIRE_APP;
  if (app === undefined || app === '')
    bad('no app given: pass the app path as an argument or set GATEWIRE_APP');

  const str = (flag: string): string | undefined => values.get(flag) as string | undefined;
  const num = (flag: string): number | undefined => values.get(flag) as number | undefined;
  const chosen = ['--socket-dir', '--socket', '--tcp'].filter((flag) => values.has(flag));
  if (chosen.length > 1) bad(`${chosen.join(' and ')} exclude each other: choose one place to listen`);
  let listen: ListenTarget;
  if (values.has('--tcp')) listen = { kind: 'tcp', ...parseTcpAddress(str('--tcp') ?? '') };
  else if (values.has('--socket')) listen = { kind: 'socket', path: str('--socket') ?? '' };
  else if (values.has('--socket-dir')) listen = { kind: 'socket-dir', dir: str('--socket-dir') ?? '' };
  else if (env.GATEWIRE_SOCKET) listen = { kind: 'socket', path: env.GATEWIRE_SOCKET };
  else if (env.GATEWIRE_SOCKET_DIR) listen = { kind: 'socket-dir', dir: env.GATEWIRE_SOCKET_DIR };
  else bad('nowhere to listen: pass --socket-dir DIR, --socket PATH or --tcp tcp://HOST:PORT');

  if (listen.kind === 'socket' && values.has('--processes') && num('--processes') !== 1) {
    bad('--processes: single-process mode (--socket) runs exactly one process; use --socket-dir for more');
  }
  const secret = env.GATEWIRE_SECRET;
  if (listen.kind === 'tcp' && (secret === undefined || secret === '')) {
    throw new WorkerError(
      'SECRET_REQUIRED',
      '--tcp: refusing to listen on TCP without a shared secret; set GATEWIRE_SECRET (SPEC §2, §5.4)',
    );
  }
  const logLevel = str('--log-level');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
    bad(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  const logFormat = str('--log-format') ?? (stdoutIsTTY ? 'pretty' : 'json');
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    bad(`--log-format: expected json or pretty, got ${JSON.stringify(logFormat)}`);
  }
  const name = str('--name');
  if (name !== undefined && !/^[A-Za-z0-9_-]+$/.test(name)) {
    bad(`--name: ${JSON.stringify(name)} must match [A-Za-z0-9_-]+`);
  }
  for (const flag of ['--processes', '--concurrency'] as const) {
    if (values.has(flag) && num(flag) === 0) bad(`${flag}: must be at least 1`);
  }

  const input: WorkerConfigInput = { app, listen, logFormat };
  if (name !== undefined) input.name = name;
  if (logLevel !== undefined) input.logLevel = logLevel as LogLevel;
  const processes = num('--processes');
  if (processes !== undefined) input.processes = processes;
  const concurrency = num('--concurrency');
  if (concurrency !== undefined) input.concurrency = concurrency;
  const maxRequests = num('--max-requests');
  if (maxRequests !== undefined) input.maxRequests = maxRequests;
  const jitter = num('--max-requests-jitter');
  if (jitter !== undefined) input.maxRequestsJitter = jitter;
  const timeout = num('--timeout');
  if (timeout !== undefined) input.timeoutMs = Math.round(timeout * 1000);
  const maxMemory = num('--max-memory');
  if (maxMemory !== undefined) input.maxMemoryBytes = Math.round(maxMemory * 1024 * 1024);
  const grace = num('--grace');
  if (grace !== undefined) input.graceMs = Math.round(grace * 1000);
  if (values.has('--plain-web-objects')) input.fastWebObjects = false;
  try {
    return { kind: 'run', config: resolveConfig(input), secret: secret === '' ? undefined : secret };
  } catch (error) {
    if (error instanceof WorkerError) bad(`--${error.message}`);
    throw error;
  }
}
