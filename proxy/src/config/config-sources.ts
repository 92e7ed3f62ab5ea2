import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './config-error.js';

/** What the command line asked for. main.ts passes process.argv; nothing else reads it. */
export interface CommandLine {
  readonly configPath: string | null;
  readonly help: boolean;
  readonly check: boolean;
  readonly version: boolean;
  /** Flag values by flag name (without the dashes); `upstream` may repeat. */
  readonly flags: Readonly<Record<string, string>>;
  readonly upstreams: readonly string[];
}

/** Flags that take a value, and the environment variable that sets the same key. */
export const VALUE_FLAGS: Readonly<Record<string, string>> = {
  config: 'GATEWIRE_CONFIG',
  host: 'GATEWIRE_HOST',
  port: 'GATEWIRE_PORT',
  'socket-dir': 'GATEWIRE_SOCKET_DIR',
  upstream: 'GATEWIRE_UPSTREAM',
  'log-level': 'GATEWIRE_LOG_LEVEL',
  'log-format': 'GATEWIRE_LOG_FORMAT',
  'trusted-proxies': 'GATEWIRE_TRUSTED_PROXIES',
  admin: 'GATEWIRE_ADMIN',
};
const SWITCHES = ['help', 'check', 'version'];

export const USAGE = `Usage: gatewire-proxy [--config gatewire.json] [options]

Options (each also settable by the environment variable shown):
  --config FILE            JSON config file                       GATEWIRE_CONFIG
  --host HOST              listen address (listen.host)            GATEWIRE_HOST
  --port PORT              listen port (listen.port)               GATEWIRE_PORT
  --socket-dir DIR         worker socket directory of upstream     GATEWIRE_SOCKET_DIR
                           "default" (upstreams.default.socketDir)
  --upstream ADDR          tcp://host:port or a socket path of     GATEWIRE_UPSTREAM (comma-separated)
                           upstream "default"; repeatable
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent GATEWIRE_LOG_LEVEL
  --log-format FORMAT      auto|json|pretty                        GATEWIRE_LOG_FORMAT
  --trusted-proxies LIST   comma-separated CIDRs                   GATEWIRE_TRUSTED_PROXIES
  --admin HOST:PORT|off    admin listener: /metrics, /status       GATEWIRE_ADMIN
                           (admin.listen; default 127.0.0.1:9090)
  --check                  validate the config, print it, exit
  --version                print the version
  --help                   this text
The shared secret for TCP workers (SPEC §5.4) comes from upstreams.<name>.secret or GATEWIRE_SECRET.
Precedence: defaults < config file < environment < flags.`;

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const flags: Record<string, string> = {};
  const upstreams: string[] = [];
  let help = false;
  let check = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--'))
      throw new ConfigError('INVALID_FLAG', arg, `unexpected argument ${JSON.stringify(arg)}; see --help`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (SWITCHES.includes(name)) {
      if (value !== undefined) throw new ConfigError('INVALID_FLAG', arg, `--${name} takes no value`);
      if (name === 'help') help = true;
      else if (name === 'check') check = true;
      else version = true;
      continue;
    }
    if (!(name in VALUE_FLAGS))
      throw new ConfigError('INVALID_FLAG', arg, `unknown flag --${name}; see --help`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--'))
        throw new ConfigError('INVALID_FLAG', arg, `--${name} needs a value`);
    }
    if (name === 'upstream') upstreams.push(value);
    else flags[name] = value;
  }
  return { configPath: flags.config ?? null, help, check, version, flags, upstreams };
}

/** Reads and parses the JSON config file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      'INVALID_FILE',
      path,
      `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'INVALID_FILE',
      path,
      `config file ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('INVALID_FILE', path, `config file ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

type Raw = Record<string, unknown>;

function section(raw: Raw, key: string): Raw {
  const value = raw[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Raw;
  const fresh: Raw = {};
  if (value === undefined) raw[key] = fresh;
  else return fresh; // a wrong type: left for the validator to name
  return fresh;
}

function portValue(text: string, origin: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : `${text} (from ${origin})`;
}

/**
 * Layers environment variables, then flags, over the file's raw config (precedence: defaults <
 * file < env < flags). Values keep the types the validator expects; a malformed one is passed on
 * so that the validator names the key.
 */
export function applyOverrides(
  file: Raw,
  env: Readonly<Record<string, string | undefined>>,
  commandLine: CommandLine,
  cwd: string,
): Raw {
  const raw: Raw = structuredClone(file);
  const pick = (flag: string): [string, string] | null => {
    const fromFlag = commandLine.flags[flag];
    if (fromFlag !== undefined) return [fromFlag, `--${flag}`];
    const variable = VALUE_FLAGS[flag];
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return [fromEnv, variable];
    return null;
  };
  const host = pick('host');
  if (host) section(raw, 'listen').host = host[0];
  const port = pick('port');
  if (port) section(raw, 'listen').port = portValue(port[0], port[1]);
  const level = pick('log-level');
  if (level) section(raw, 'log').level = level[0];
  const format = pick('log-format');
  if (format) section(raw, 'log').format = format[0];
  const admin = pick('admin');
  if (admin) {
    if (admin[0] === 'off' || admin[0] === 'false') raw.admin = false;
    else if (typeof raw.admin === 'object' && raw.admin !== null) section(raw, 'admin').listen = admin[0];
    else raw.admin = { listen: admin[0] };
  }
  const trusted = pick('trusted-proxies');
  if (trusted) {
    raw.trustedProxies = trusted[0]
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  }
  const socketDir = pick('socket-dir');
  let addresses: string[] = [...commandLine.upstreams];
  if (addresses.length === 0 && env.GATEWIRE_UPSTREAM) {
    addresses = env.GATEWIRE_UPSTREAM.split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  }
  if (socketDir || addresses.length > 0) {
    const groups = section(raw, 'upstreams');
    const group = section(groups, 'default');
    if (socketDir) group.socketDir = isAbsolute(socketDir[0]) ? socketDir[0] : resolve(cwd, socketDir[0]);
    for (const address of addresses) {
      if (address.startsWith('tcp://')) group.tcp = [...((group.tcp as string[] | undefined) ?? []), address];
      else
        group.sockets = [
          ...((group.sockets as string[] | undefined) ?? []),
          isAbsolute(address) ? address : resolve(cwd, address),
        ];
    }
  }
  const secret = env.GATEWIRE_SECRET;
  if (secret !== undefined && secret !== '') {
    const groups = raw.upstreams;
    if (typeof groups === 'object' && groups !== null) {
      for (const group of Object.values(groups as Raw)) {
        if (typeof group === 'object' && group !== null && (group as Raw).secret === undefined)
          (group as Raw).secret = secret;
      }
    }
  }
  return raw;
}
