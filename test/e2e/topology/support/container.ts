/**
 * A container, as far as gatewire can tell, without a container engine: its own PID namespace
 * (the entrypoint, or the init with `init: true`, is PID 1, and its pids repeat those of every other
 * container), its own UTS namespace (hostname = a container id, which names the worker sockets,
 * SPEC §16), its own mount namespace (the staged image on its WORKDIR, named volumes and files bound
 * at their targets), the image's user (setpriv to its uid/gid, no capabilities), and the process
 * started as Docker starts it: ENTRYPOINT + command, with only the image's and the service's
 * environment. `docker kill -s SIG` is a signal to PID 1; `docker exec` is nsenter into its
 * namespaces. What it shares with the host is the network namespace (so ports are remapped by the
 * caller: see compose-emulator.ts). util-linux (unshare, nsenter, setpriv) and tini (the same init
 * as Docker's docker-init) must be installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { requireCommand } from '../../../unit/deploy/support/tools.js';

export interface ContainerMount {
  /** Host path. */
  readonly source: string;
  /** Path inside the container. */
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface ContainerSpec {
  /** Also the hostname (Docker's default hostname is the container id). */
  readonly id: string;
  /** Label for messages: service name and replica number. */
  readonly label: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly uid: number;
  readonly gid: number;
  readonly workdir: string;
  readonly init: boolean;
  readonly mounts: readonly ContainerMount[];
}

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function envArgs(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

/** The shell script that sets a new mount namespace up, then execs the container's PID 1. */
function setupScript(spec: ContainerSpec, tini: string, setpriv: string): string {
  const lines = ['set -eu', `hostname ${quote(spec.id)}`];
  const tmpfsRoots = new Set<string>();
  for (const mount of spec.mounts) {
    if (!existsSync(mount.target)) {
      // Not on the host: cover its top directory with a tmpfs (in this namespace only) and make it.
      const top = `/${mount.target.split('/')[1]}`;
      if (!tmpfsRoots.has(top)) {
        lines.push(`mount -t tmpfs -o mode=0755 tmpfs ${quote(top)}`);
        tmpfsRoots.add(top);
      }
      lines.push(`mkdir -p ${quote(mount.target)}`);
    }
    lines.push(`mount --bind ${quote(mount.source)} ${quote(mount.target)}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(mount.target)}`);
  }
  lines.push(`cd ${quote(spec.workdir)}`);
  const command = [
    'env',
    '-i',
    ...envArgs(spec.env),
    setpriv,
    `--reuid=${spec.uid}`,
    `--regid=${spec.gid}`,
    '--clear-groups',
    '--',
    ...(spec.init ? [tini, '--'] : []),
    ...spec.argv,
  ];
  lines.push(`exec ${command.map(quote).join(' ')}`);
  return lines.join('\n');
}

export class Container {
  readonly spec: ContainerSpec;
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #process: ChildProcess;
  #pid1: number | null = null;
  #done = false;

  private constructor(spec: ContainerSpec) {
    this.spec = spec;
    if (process.getuid?.() !== 0)
      throw new Error('the topology tests make namespaces and switch users: they run as root (as CI does)');
    requireCommand('hostname', 'hostname');
    const unshare = requireCommand('unshare', 'util-linux');
    const tini = requireCommand('tini');
    const setpriv = requireCommand('setpriv', 'util-linux');
    this.#process = spawn(
      unshare,
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--uts',
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        setupScript(spec, tini, setpriv),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let pending = '';
    const collect = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      this.output.push(...lines);
    };
    this.#process.stdout!.on('data', collect);
    this.#process.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.#process.on('exit', (code, signal) => {
        this.#done = true;
        if (pending !== '') this.output.push(pending);
        resolve({ code, signal });
      });
    });
  }

  static async start(spec: ContainerSpec): Promise<Container> {
    const container = new Container(spec);
    await container.pid1();
    return container;
  }

  get running(): boolean {
    return !this.#done;
  }

  /** The host pid of the container's PID 1 (unshare's child). */
  async pid1(): Promise<number> {
    if (this.#pid1 !== null) return this.#pid1;
    const parent = this.#process.pid!;
    for (let attempt = 0; attempt < 200; attempt++) {
      if (this.#done) break;
      try {
        const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
        if (children !== '') {
          this.#pid1 = Number(children.split(/\s+/)[0]);
          return this.#pid1;
        }
      } catch {
        // not yet
      }
      await delay(10);
    }
    throw new Error(`${this.spec.label}: the container did not start:\n${this.output.join('\n')}`);
  }

  /** `docker kill -s SIGNAL`: the signal goes to PID 1 of the container. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    process.kill(await this.pid1(), signal);
  }

  /** `docker stop`: SIGTERM, then SIGKILL after the grace period; resolves with the exit status. */
  async stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.signal('SIGTERM');
    const timer = setTimeout(() => void this.signal('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** `docker exec`: runs argv in the container's namespaces, as its user, with its environment. */
  async exec(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ExecResult> {
    const nsenter = requireCommand('nsenter', 'util-linux');
    const setpriv = requireCommand('setpriv', 'util-linux');
    const pid = await this.pid1();
    const child = spawn(
      nsenter,
      [
        `--target=${pid}`,
        '--pid',
        '--uts',
        '--mount',
        // The target's own working directory (its WORKDIR); a path would be opened before entering.
        '--wd',
        '--',
        'env',
        '-i',
        ...envArgs({ ...this.spec.env, ...env }),
        setpriv,
        `--reuid=${this.spec.uid}`,
        `--regid=${this.spec.gid}`,
        '--clear-groups',
        '--',
        ...argv,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
    return { code, stdout, stderr };
  }

  /** Last resort in an afterAll: SIGKILL to PID 1 takes the whole PID namespace with it. */
  async destroy(): Promise<void> {
    if (!this.running) return;
    try {
      await this.signal('SIGKILL');
    } catch {
      this.#process.kill('SIGKILL');
    }
    await this.exited;
  }
}
