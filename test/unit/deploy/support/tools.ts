/**
 * The outside programs the deploy tests need, each found or failed with what to install (never a
 * skip): docker-compose (Debian's docker-compose, 1.29) to validate the compose files the way
 * Compose reads them, and Python's yaml module (Debian's python3-yaml, which docker-compose depends
 * on, under /usr/bin/python3) to read YAML, since no YAML library is a dependency of the project.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

/** Debian packages .ci/run installs for these tests, by the program they provide. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  'docker-compose': 'docker-compose',
  '/usr/bin/python3 with yaml': 'python3-yaml',
  tini: 'tini',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  setpriv: 'util-linux',
};

/** The absolute path of `command` on PATH, or an Error naming the Debian package to install. */
export function requireCommand(command: string, debianPackage = DEBIAN_PACKAGES[command] ?? command): string {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    `${command} is not installed: run \`apt-get install -y ${debianPackage}\` (.ci/run installs it for CI)`,
  );
}

const YAML_TO_JSON = `
import json, sys, yaml
with open(sys.argv[1], encoding="utf-8") if sys.argv[1] != "-" else sys.stdin as source:
    json.dump(list(yaml.safe_load_all(source)), sys.stdout)
`;

/** Every document of a YAML file (or of `text`, when given), as plain JSON values. */
export function loadYamlDocuments(path: string, text?: string): unknown[] {
  const python = requireCommand('/usr/bin/python3', 'python3-yaml');
  const result = spawnSync(python, ['-c', YAML_TO_JSON, text === undefined ? path : '-'], {
    input: text,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    if (/No module named .?yaml/.test(result.stderr))
      throw new Error(
        'Python yaml module missing: run `apt-get install -y python3-yaml` (.ci/run installs it for CI)',
      );
    throw new Error(`cannot parse ${path} as YAML: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as unknown[];
}

export type Json = Record<string, unknown>;

export interface ComposeModel {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
  readonly secrets?: Readonly<Record<string, unknown>>;
}

export interface ComposeService {
  readonly build?: { context: string; target?: string; dockerfile?: string };
  readonly image?: string;
  readonly init?: boolean;
  readonly command?: string[];
  readonly entrypoint?: string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly volumes?: ReadonlyArray<string | { source: string; target: string; read_only?: boolean }>;
  readonly ports?: ReadonlyArray<string | { published: number | string; target: number | string }>;
  readonly healthcheck?: { test: string[]; interval?: string; timeout?: string; start_period?: string };
  readonly stop_grace_period?: string;
  readonly stop_signal?: string;
  readonly hostname?: string;
  readonly container_name?: string;
  readonly expose?: ReadonlyArray<string | number>;
  readonly secrets?: unknown;
  readonly deploy?: unknown;
}

/**
 * `docker-compose -f … config`: the model Compose resolves from the files (merged, interpolated,
 * validated against its schema), as JSON. Throws with docker-compose's message when it refuses.
 */
export function composeConfig(
  files: readonly string[],
  env: Readonly<Record<string, string>> = {},
): ComposeModel {
  const compose = requireCommand('docker-compose');
  const args = [...files.flatMap((file) => ['-f', file]), 'config'];
  const result = spawnSync(compose, args, {
    cwd: REPO,
    encoding: 'utf8',
    // Only what the test states: no GATEWIRE_* or compose variables from the caller's shell.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
  });
  if (result.status !== 0) {
    throw new ComposeError(`docker-compose ${args.join(' ')} failed: ${result.stderr.trim()}`, result.stderr);
  }
  const [model] = loadYamlDocuments('docker-compose config', result.stdout);
  return model as ComposeModel;
}

export class ComposeError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** "1m30s", "40s", "500ms" (Compose durations) in milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  const pattern = /(\d+(?:\.\d+)?)(ms|us|h|m|s)/g;
  let matched = '';
  for (const match of text.matchAll(pattern)) {
    matched += match[0];
    const value = Number(match[1]);
    total +=
      value *
      { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 }[match[2] as 'h' | 'm' | 's' | 'ms' | 'us'];
  }
  if (matched !== text) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return total;
}

/** The value that follows `flag` in an argument list (`--grace 25` or `--grace=25`). */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}
