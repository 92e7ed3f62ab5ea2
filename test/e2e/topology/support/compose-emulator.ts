/**
 * What `docker compose up/kill/stop/exec` does with the model `docker-compose config` resolves,
 * carried out with Container (container.ts) on images laid out by image-stage.ts:
 *
 * - each replica is a container with a fresh random id as hostname, the image's user, the service's
 *   `init`, the image's ENTRYPOINT followed by the service's command, and the image's ENV overlaid
 *   with the service's environment;
 * - a named volume is a directory shared by every container that mounts it; a fresh one starts with
 *   what the image has at the mount point (Docker copies it in): the directories the image creates
 *   there, their owner and mode;
 * - `docker compose up --scale S=N` starts or stops (SIGTERM, then SIGKILL after stop_grace_period)
 *   replicas, the highest-numbered first; `docker compose kill -s SIG S` signals PID 1 of each.
 *
 * What differs, because every container here shares the host's network namespace: ports. The caller
 * gives `rewrite`, a function applied to every argument and environment value of a service (and to
 * its health check), to move an address the compose file gives (0.0.0.0:9000, 127.0.0.1:8080) to one
 * that is free on this machine. Everything else is taken from the compose model and the Dockerfiles
 * as they are.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, chmodSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createdUser } from '../../../unit/deploy/support/dockerfile.js';
import { serviceArgv, serviceEnv, serviceImage, serviceMounts } from '../../../unit/deploy/support/images.js';
import { durationMs, type ComposeModel, type ComposeService } from '../../../unit/deploy/support/tools.js';
import { Container, type ContainerMount, type ExecResult } from './container.js';
import type { StagedImage } from './image-stage.js';

export interface ServiceOptions {
  readonly image: StagedImage;
  /** Applied to every argv word and environment value (ports, addresses). */
  readonly rewrite?: (value: string) => string;
  /** Per-replica changes, e.g. a different loopback address for each TCP worker. */
  readonly perReplica?: (replica: number) => {
    rewrite?: (value: string) => string;
    mounts?: ContainerMount[];
  };
  /** Environment a user's derived image would add (FROM gatewire/worker + ENV GATEWIRE_APP=…). */
  readonly imageEnv?: Readonly<Record<string, string>>;
  /** Files bound into the container (an /etc/hosts, say), besides the compose volumes. */
  readonly mounts?: readonly ContainerMount[];
}

export interface Replica {
  readonly service: string;
  readonly number: number;
  readonly container: Container;
}

export class ComposeProject {
  readonly model: ComposeModel;
  readonly #root: string;
  readonly #services: Readonly<Record<string, ServiceOptions>>;
  readonly #volumes = new Map<string, string>();
  readonly #replicas = new Map<string, Replica[]>();
  #counter = new Map<string, number>();

  constructor(model: ComposeModel, root: string, services: Record<string, ServiceOptions>) {
    this.model = model;
    this.#root = root;
    this.#services = services;
  }

  service(name: string): ComposeService {
    const service = this.model.services[name];
    if (service === undefined) throw new Error(`no service ${name} in the compose model`);
    return service;
  }

  /** The host directory of a named volume; created (as Docker would) on first use. */
  volume(name: string, image?: StagedImage, target?: string): string {
    let dir = this.#volumes.get(name);
    if (dir !== undefined) return dir;
    if (!(name in (this.model.volumes ?? {})))
      throw new Error(`volume ${name} is not declared at the top level`);
    dir = join(this.#root, 'volumes', name);
    mkdirSync(dir, { recursive: true });
    if (image !== undefined && target !== undefined) {
      // A fresh named volume takes the content, owner and mode of the image's mount point.
      const user = createdUser(image.config, 'gatewire');
      for (const made of image.dirs) {
        const rel = relative(target, made.path);
        if (rel.startsWith('..')) continue;
        const path = join(dir, rel);
        mkdirSync(path, { recursive: true });
        if (made.owner === 'gatewire' && user !== null) chownSync(path, user.uid, user.gid);
        chmodSync(path, made.mode);
      }
    }
    this.#volumes.set(name, dir);
    return dir;
  }

  replicas(service: string): Replica[] {
    return (this.#replicas.get(service) ?? []).filter((replica) => replica.container.running);
  }

  all(): Replica[] {
    return [...this.#replicas.values()].flat();
  }

  #rewriteFor(service: string, replica: number): (value: string) => string {
    const options = this.#services[service];
    const base = options.rewrite ?? ((value: string) => value);
    const extra = options.perReplica?.(replica).rewrite;
    return extra === undefined ? base : (value) => extra(base(value));
  }

  async #startReplica(name: string): Promise<Replica> {
    const service = this.service(name);
    const options = this.#services[name];
    if (options === undefined) throw new Error(`no image given for service ${name}`);
    const number = (this.#counter.get(name) ?? 0) + 1;
    this.#counter.set(name, number);
    const rewrite = this.#rewriteFor(name, number);
    // The service's own target (proxy, worker, django); the staged files may serve several targets.
    const image = serviceImage(service);
    const user = createdUser(image, (image.user ?? 'root').split(':')[0]);
    if (user === null)
      throw new Error(`${name}: the image's user ${image.user} is not created by a RUN line`);
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/nonexistent',
      ...options.image.env,
    };
    for (const [key, value] of Object.entries({ ...serviceEnv(service, image), ...options.imageEnv }))
      env[key] = rewrite(value);
    const mounts: ContainerMount[] = [{ source: options.image.root, target: image.workdir, readOnly: true }];
    for (const mount of serviceMounts(service)) {
      mounts.push({
        source: this.volume(mount.source, options.image, mount.target),
        target: mount.target,
        readOnly: mount.readOnly,
      });
    }
    mounts.push(...(options.mounts ?? []), ...(options.perReplica?.(number).mounts ?? []));
    const container = await Container.start({
      id: randomBytes(6).toString('hex'),
      label: `${name}-${number}`,
      argv: serviceArgv(service, image).map(rewrite),
      env,
      uid: user.uid,
      gid: user.gid,
      workdir: image.workdir,
      init: service.init === true,
      mounts,
    });
    const replica: Replica = { service: name, number, container };
    this.#replicas.set(name, [...(this.#replicas.get(name) ?? []), replica]);
    return replica;
  }

  /** `docker compose up -d --scale service=count`: returns the replicas started. */
  async scale(name: string, count: number): Promise<Replica[]> {
    const started: Replica[] = [];
    const running = this.replicas(name);
    for (let i = running.length; i < count; i++) started.push(await this.#startReplica(name));
    const extra = running.slice(count).reverse(); // compose removes the highest-numbered first
    await Promise.all(extra.map((replica) => this.stopReplica(replica)));
    return started;
  }

  /** `docker stop` of one replica: SIGTERM, SIGKILL after the service's stop_grace_period. */
  stopReplica(replica: Replica): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const grace = durationMs(this.service(replica.service).stop_grace_period ?? '10s');
    return replica.container.stop(grace);
  }

  /** `docker compose kill -s SIGNAL service`. */
  async kill(name: string, signal: NodeJS.Signals): Promise<void> {
    await Promise.all(this.replicas(name).map((replica) => replica.container.signal(signal)));
  }

  /** The service's health check, run in the replica as Docker runs it (`docker exec`). */
  healthcheck(replica: Replica, env: Readonly<Record<string, string>> = {}): Promise<ExecResult> {
    const test = this.service(replica.service).healthcheck?.test ?? [];
    if (test[0] !== 'CMD') throw new Error(`${replica.service}: health check is not in exec form`);
    const rewrite = this.#rewriteFor(replica.service, replica.number);
    return replica.container.exec(test.slice(1).map(rewrite), env);
  }

  /** `docker compose down`: every replica stopped; resolves with their exit statuses. */
  async down(): Promise<Array<{ label: string; code: number | null; signal: NodeJS.Signals | null }>> {
    const live = this.all().filter((replica) => replica.container.running);
    return Promise.all(
      live.map(async (replica) => ({
        label: replica.container.spec.label,
        ...(await this.stopReplica(replica)),
      })),
    );
  }

  /** afterAll: whatever is left is killed. */
  async destroy(): Promise<void> {
    await Promise.all(this.all().map((replica) => replica.container.destroy()));
  }
}
