/**
 * Just enough of the Dockerfile syntax to check our Dockerfiles without a Docker engine, and to
 * lay out an image's files for the topology test: instructions with line continuations, JSON and
 * shell forms, stages, and what an image ends up with (ENV, USER, WORKDIR, ENTRYPOINT, CMD,
 * HEALTHCHECK). Plus .dockerignore matching (Go filepath.Match patterns, `**`, `!` exceptions).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

export interface Instruction {
  readonly keyword: string;
  /** The text after the keyword, continuations joined. */
  readonly text: string;
  /** --name=value flags before the arguments (COPY --from, HEALTHCHECK --interval, …). */
  readonly flags: Readonly<Record<string, string>>;
  /** JSON-form arguments, or the shell-form words split on white space. */
  readonly args: readonly string[];
  /** Whether the arguments were in JSON (exec) form. */
  readonly json: boolean;
  readonly line: number;
}

export interface Stage {
  readonly name: string | null;
  /** The FROM image (ARG references expanded with the ARG defaults). */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly path: string;
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

function expandArgs(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    return name in args ? args[name] : whole;
  });
}

function splitFlags(text: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (match === null) break;
    flags[match[1]] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(path: string, text = readFileSync(path, 'utf8')): Dockerfile {
  const logical: Array<{ text: string; line: number }> = [];
  let current: { text: string; line: number } | null = null;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === null && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== null && trimmed.startsWith('#')) return; // comments inside a continuation
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === null) current = { text: piece.trim(), line: index + 1 };
    else current.text += ` ${piece.trim()}`;
    if (!continued) {
      logical.push(current);
      current = null;
    }
  });
  if (current !== null) logical.push(current);

  const globalArgs: Record<string, string> = {};
  const stages: Array<{ name: string | null; from: string; instructions: Instruction[] }> = [];
  for (const { text: lineText, line } of logical) {
    const match = /^(\w+)\s*(.*)$/s.exec(lineText);
    if (match === null) throw new Error(`${path}:${line}: cannot parse ${JSON.stringify(lineText)}`);
    const keyword = match[1].toUpperCase();
    const { flags, rest } = ['COPY', 'ADD', 'HEALTHCHECK', 'RUN', 'FROM'].includes(keyword)
      ? splitFlags(match[2])
      : { flags: {}, rest: match[2] };
    let args: string[];
    let json = false;
    const body = keyword === 'HEALTHCHECK' ? rest.replace(/^CMD\s+/, '') : rest;
    if (body.trimStart().startsWith('[')) {
      try {
        args = JSON.parse(body) as string[];
        json = true;
      } catch {
        args = body.split(/\s+/).filter(Boolean);
      }
    } else args = body.split(/\s+/).filter(Boolean);
    const instruction: Instruction = { keyword, text: rest, flags, args, json, line };
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=');
      globalArgs[name.trim()] = value.trim();
      continue;
    }
    if (keyword === 'FROM') {
      const words = rest.split(/\s+/);
      const as = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({
        name: as >= 0 ? words[as + 1] : null,
        from: expandArgs(words[0], globalArgs),
        instructions: [],
      });
      continue;
    }
    if (stages.length === 0) throw new Error(`${path}:${line}: ${keyword} before the first FROM`);
    stages[stages.length - 1].instructions.push(instruction);
  }
  return { path, globalArgs, stages };
}

export function stage(file: Dockerfile, name: string): Stage {
  const found = file.stages.find((candidate) => candidate.name === name);
  if (found === undefined)
    throw new Error(
      `${file.path}: no stage named ${name} (has ${file.stages.map((s) => s.name).join(', ')})`,
    );
  return found;
}

/** The stages an image is built through, from the one on an external base image to `target`. */
export function stageChain(file: Dockerfile, target: string): Stage[] {
  const chain: Stage[] = [];
  let current: Stage | undefined = stage(file, target);
  while (current !== undefined) {
    chain.unshift(current);
    const base: string = current.from;
    current = file.stages.find((candidate) => candidate.name === base);
  }
  return chain;
}

export interface ImageConfig {
  /** The external base image. */
  readonly base: string;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | null;
  readonly workdir: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly healthcheck: Instruction | null;
  readonly stopSignal: string | null;
  readonly expose: readonly string[];
  /** Every COPY of the chain, with its destination made absolute. */
  readonly copies: ReadonlyArray<{ from: string | null; sources: string[]; dest: string; line: number }>;
  /** Every RUN of the chain (text). */
  readonly runs: readonly string[];
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  const pattern = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (const match of text.matchAll(pattern)) {
    env[match[1]] = match[2].startsWith('"') ? (JSON.parse(match[2]) as string) : match[2];
  }
  if (Object.keys(env).length === 0) {
    const [name, ...value] = text.split(/\s+/);
    env[name] = value.join(' ');
  }
  return env;
}

/** What `docker build --target target` would produce, as far as configuration goes. */
export function imageConfig(file: Dockerfile, target: string): ImageConfig {
  const chain = stageChain(file, target);
  const env: Record<string, string> = {};
  let user: string | null = null;
  let workdir = '/';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck: Instruction | null = null;
  let stopSignal: string | null = null;
  const expose: string[] = [];
  const copies: Array<{ from: string | null; sources: string[]; dest: string; line: number }> = [];
  const runs: string[] = [];
  for (const current of chain) {
    for (const instruction of current.instructions) {
      switch (instruction.keyword) {
        case 'ENV':
          Object.assign(env, parseEnv(instruction.text));
          break;
        case 'USER':
          user = instruction.text.trim();
          break;
        case 'WORKDIR':
          workdir = posix.resolve(workdir, instruction.text.trim());
          break;
        case 'ENTRYPOINT':
          entrypoint = instruction.json ? [...instruction.args] : ['/bin/sh', '-c', instruction.text];
          cmd = []; // an ENTRYPOINT resets an inherited CMD
          break;
        case 'CMD':
          cmd = instruction.json ? [...instruction.args] : ['/bin/sh', '-c', instruction.text];
          break;
        case 'HEALTHCHECK':
          healthcheck = instruction;
          break;
        case 'STOPSIGNAL':
          stopSignal = instruction.text.trim();
          break;
        case 'EXPOSE':
          expose.push(...instruction.args);
          break;
        case 'RUN':
          runs.push(instruction.text);
          break;
        case 'COPY': {
          const sources = instruction.args.slice(0, -1);
          const destination = instruction.args[instruction.args.length - 1];
          const dest = posix.resolve(workdir, destination) + (destination.endsWith('/') ? '/' : '');
          copies.push({ from: instruction.flags.from ?? null, sources, dest, line: instruction.line });
          break;
        }
        default:
          break;
      }
    }
  }
  return {
    base: chain[0].from,
    env,
    user,
    workdir,
    entrypoint,
    cmd,
    healthcheck,
    stopSignal,
    expose,
    copies,
    runs,
  };
}

/** A Go filepath.Match pattern (with Docker's `**`) as a RegExp over slash-separated paths. */
function patternRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern names a path and everything below it.
  return new RegExp(`^${source}(?:/.*)?$`);
}

export interface DockerIgnore {
  /** Whether the context path (relative, slash-separated) is left out of the build context. */
  excludes(path: string): boolean;
}

export function parseDockerIgnore(text: string): DockerIgnore {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix.normalize(negate ? line.slice(1).trim() : line).replace(/^\/+|\/+$/g, '');
      return { negate, regexp: patternRegExp(pattern) };
    });
  return {
    excludes(path: string): boolean {
      let excluded = false;
      for (const rule of rules) if (rule.regexp.test(path)) excluded = !rule.negate;
      return excluded;
    },
  };
}

/**
 * The build-context file an image path comes from, through the image's COPY lines from the context
 * (`COPY deploy/compose ./deploy/compose`, `COPY a b ./dir/`), or null when no such COPY brings it.
 */
export function contextPathOf(image: ImageConfig, imagePath: string): string | null {
  let found: string | null = null;
  for (const copy of image.copies) {
    if (copy.from !== null) continue;
    if (copy.dest.endsWith('/') || copy.sources.length > 1) {
      const dir = copy.dest.replace(/\/$/, '');
      for (const source of copy.sources) {
        const target = posix.join(dir, posix.basename(source));
        if (imagePath === target || imagePath.startsWith(`${target}/`))
          found = posix.join(source, imagePath.slice(target.length));
      }
    } else if (imagePath === copy.dest || imagePath.startsWith(`${copy.dest}/`)) {
      found = posix.join(copy.sources[0], imagePath.slice(copy.dest.length));
    }
  }
  return found;
}

/** uid and gid of the user a RUN line creates with groupadd/useradd (`--uid N`, `--gid N`). */
export function createdUser(image: ImageConfig, name: string): { uid: number; gid: number } | null {
  for (const run of image.runs) {
    const user = new RegExp(`useradd\\b[^&;]*--uid\\s+(\\d+)[^&;]*\\b${name}\\b`).exec(run);
    const group = new RegExp(`groupadd\\b[^&;]*--gid\\s+(\\d+)[^&;]*\\b${name}\\b`).exec(run);
    if (user && group) return { uid: Number(user[1]), gid: Number(group[1]) };
  }
  return null;
}

/** Directories a RUN line creates with `install -d [-o U] [-g G] -m MODE dir…`. */
export function installedDirs(
  image: ImageConfig,
): Array<{ path: string; mode: number; owner: string | null }> {
  const dirs: Array<{ path: string; mode: number; owner: string | null }> = [];
  for (const run of image.runs) {
    for (const command of run.split(/&&|;/)) {
      const words = command.trim().split(/\s+/);
      if (words[0] !== 'install' || !words.includes('-d')) continue;
      let mode = 0o755;
      let owner: string | null = null;
      for (let i = 1; i < words.length; i++) {
        if (words[i] === '-m') mode = parseInt(words[++i], 8);
        else if (words[i] === '-o') owner = words[++i];
        else if (words[i] === '-g') i++;
        else if (words[i].startsWith('/')) dirs.push({ path: words[i], mode, owner });
      }
    }
  }
  return dirs;
}
