/**
 * docker-compose.yml and docker-compose.tcp.yml, as Compose itself resolves them (`docker-compose
 * config`: schema validation, merge of the two files, variable interpolation), then the keys the
 * topology depends on: one socket volume at the same path in every service, the proxy's config
 * pointing into it, the published port, health checks that exist in the images, init for signals,
 * grace periods longer than the drains, and, over TCP, one name, one port and one secret.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProxyConfig } from '../../../proxy/src/config/config.js';
import { contextPathOf, type ImageConfig } from './support/dockerfile.js';
import { resolveProxyConfig } from './support/proxy-config.js';
import { serviceArgv, serviceEnv, serviceImage, serviceMounts } from './support/images.js';
import {
  ComposeError,
  composeConfig,
  durationMs,
  flagValue,
  REPO,
  type ComposeModel,
  type ComposeService,
} from './support/tools.js';

const BASE = ['docker-compose.yml'];
const TCP = ['docker-compose.yml', 'docker-compose.tcp.yml'];
const SECRET = 'test-secret-0123456789abcdef';

/**
 * The config the proxy container runs with, as the proxy computes it from the container's
 * arguments, environment and the file they name; the file's groups must be all there is (an
 * environment variable or flag adding a group would double the connections to every worker).
 */
function proxyConfigOf(service: ComposeService, image: ImageConfig): { path: string; config: ProxyConfig } {
  const resolved = resolveProxyConfig(serviceArgv(service, image), serviceEnv(service, image), image);
  expect(resolved.file, 'the proxy service names a config file').not.toBeNull();
  expect(Object.keys(resolved.config.upstreams)).toEqual(resolved.fileGroups);
  return { path: resolved.file!, config: resolved.config };
}

function mountOf(service: ComposeService, volume: string) {
  return serviceMounts(service).find((mount) => mount.source === volume);
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);
}

describe('docker-compose.yml (docker-compose config)', () => {
  const model: ComposeModel = composeConfig(BASE);
  const { proxy, worker, django } = model.services;

  it('has the proxy, worker and django services, built from the repository Dockerfiles', () => {
    expect(Object.keys(model.services).sort()).toEqual(['django', 'proxy', 'worker']);
    expect(proxy.build?.target).toBe('proxy');
    expect(worker.build?.target).toBe('worker');
    expect(django.build?.dockerfile).toBe('Dockerfile.python');
    for (const service of [proxy, worker, django]) expect(service.build?.context).toBe(REPO);
  });

  it('publishes the proxy on 8080, the port its config listens on', () => {
    expect(proxy.ports).toHaveLength(1);
    const port = proxy.ports![0];
    const [published, target] =
      typeof port === 'string' ? port.split(':').map(Number) : [Number(port.published), Number(port.target)];
    expect(published).toBe(8080);
    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    expect(config.listen).toEqual({ host: '0.0.0.0', port: target });
    // Replicas of a scaled service cannot all publish one host port.
    expect(worker.ports ?? []).toEqual([]);
    expect(django.ports ?? []).toEqual([]);
  });

  it('shares one named socket volume, mounted at the same path, with the groups of the proxy config in it', () => {
    expect(Object.keys(model.volumes ?? {})).toContain('sockets');
    const mounts = [proxy, worker, django].map((service) => mountOf(service, 'sockets'));
    for (const mount of mounts) expect(mount, 'every service mounts the sockets volume').toBeDefined();
    const dir = mounts[0]!.target;
    expect(mounts.map((mount) => mount!.target)).toEqual([dir, dir, dir]);
    for (const mount of mounts) expect(mount!.readOnly).toBe(false); // workers create sockets, the proxy connects

    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    const workerDir =
      flagValue(worker.command ?? [], '--socket-dir') ??
      serviceEnv(worker, serviceImage(worker)).GATEWIRE_SOCKET_DIR;
    const djangoDir = flagValue(serviceArgv(django, serviceImage(django)), '--socket-dir');
    expect(config.upstreams.hello.socketDir).toBe(workerDir);
    expect(config.upstreams.django.socketDir).toBe(djangoDir);
    for (const groupDir of [workerDir!, djangoDir!]) expect(isUnder(groupDir, dir)).toBe(true);
    // The health checks look for the sockets where the workers put them.
    expect(serviceEnv(django, serviceImage(django)).GATEWIRE_SOCKET_DIR).toBe(djangoDir);
    expect(serviceEnv(worker, serviceImage(worker)).GATEWIRE_SOCKET_DIR).toBe(workerDir);
  });

  it('routes / to the hello workers, /django/ to Django (mounted) and /static/ to the static volume', () => {
    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    const route = (path: string) => config.routes.find((candidate) => candidate.path === path);
    expect(route('/')?.upstream).toBe('hello');
    expect(route('/django/')).toMatchObject({ upstream: 'django', mount: true });
    const staticRoot = route('/static/')?.static?.root;
    const proxyStatic = mountOf(proxy, 'static');
    const djangoStatic = mountOf(django, 'static');
    expect(proxyStatic).toMatchObject({ target: staticRoot, readOnly: true });
    expect(djangoStatic?.readOnly).toBe(false);
    // collectstatic writes where the proxy reads.
    expect(serviceEnv(django, serviceImage(django)).DJANGO_STATIC_ROOT).toBe(djangoStatic?.target);
    // /healthz/ is answered by the proxy itself, from a directory in the image.
    const health = route('/healthz/')?.static;
    expect(health).toBeDefined();
    const healthDir = contextPathOf(serviceImage(proxy), health!.root);
    expect(healthDir).not.toBeNull();
    expect(health!.index).toEqual(['ok.txt']);
    for (const index of health!.index ?? [])
      expect(readFileSync(join(REPO, healthDir!, index), 'utf8')).toBe('ok\n');
  });

  it('has a health check per service that runs a script the image contains', () => {
    for (const [name, service] of Object.entries(model.services)) {
      const image = serviceImage(service);
      const test = service.healthcheck?.test ?? [];
      expect(test[0], `${name}: exec form`).toBe('CMD');
      const script = test.find((word) => word.startsWith('/opt/'));
      expect(script, `${name}: the check names its script`).toBeDefined();
      expect(contextPathOf(image, script!), `${name}: ${script} is copied into the image`).not.toBeNull();
      // The scripts give up after 4 s; Docker's timeout must be longer.
      expect(durationMs(service.healthcheck!.timeout ?? '30s')).toBeGreaterThan(4000);
      // The same check as the image's own HEALTHCHECK (for `docker run` without compose).
      expect(image.healthcheck?.args.slice(0, 3)).toEqual(test.slice(1, 4));
    }
    expect(proxy.healthcheck!.test.slice(-2)).toEqual(['http', 'http://127.0.0.1:8080/healthz/']);
    expect(worker.healthcheck!.test.slice(-1)).toEqual(['worker']);
  });

  it('runs an init as PID 1 in every container, so SIGHUP and SIGTERM reach the supervisors', () => {
    for (const service of [proxy, worker, django]) expect(service.init).toBe(true);
    // The images' entrypoint script execs the program (it keeps the pid the init signals).
    for (const service of [proxy, worker, django]) {
      const argv = serviceArgv(service, serviceImage(service));
      expect(argv[0]).toBe('/opt/gatewire/deploy/docker-entrypoint.sh');
    }
    expect(readFileSync(join(REPO, 'deploy/docker-entrypoint.sh'), 'utf8')).toMatch(/\nexec "\$@"\n$/);
  });

  it('lets the workers scale: no fixed hostname or container name, sockets named after the hostname', () => {
    for (const service of [worker, django]) {
      expect(service.hostname).toBeUndefined();
      expect(service.container_name).toBeUndefined();
      // --name would give every replica the same socket names (SPEC §16); the default is <app>-<hostname>.
      expect(flagValue(serviceArgv(service, serviceImage(service)), '--name')).toBeUndefined();
    }
    const scaled = composeConfig(BASE, { WORKER_PROCESSES: '1', DJANGO_PROCESSES: '3' }).services;
    expect(flagValue(scaled.worker.command ?? [], '--processes')).toBe('1');
    expect(flagValue(scaled.django.command ?? [], '--processes')).toBe('3');
    expect(flagValue(worker.command ?? [], '--processes')).toBe('2');
  });

  it('gives every service a stop grace period longer than its drain', () => {
    for (const service of [worker, django]) {
      const grace = Number(flagValue(serviceArgv(service, serviceImage(service)), '--grace') ?? '30') * 1000;
      expect(durationMs(service.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(grace + 5000);
    }
    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    // main.ts bounds the proxy's shutdown at shutdownTimeoutMs + 5 s.
    expect(durationMs(proxy.stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdownTimeoutMs + 5000);
  });
});

describe('docker-compose.tcp.yml over docker-compose.yml', () => {
  it('refuses to resolve without GATEWIRE_SECRET, saying how to make one', () => {
    let error: unknown;
    try {
      composeConfig(TCP);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ComposeError);
    expect((error as ComposeError).stderr).toMatch(/set GATEWIRE_SECRET.*openssl rand -hex 32/);
  });

  const model = composeConfig(TCP, { GATEWIRE_SECRET: SECRET });
  const { proxy, worker, django } = model.services;

  it('points the proxy at the worker service name and port, re-resolved, with the same secret on both sides', () => {
    const tcpFlag = flagValue(worker.command ?? [], '--tcp');
    expect(tcpFlag).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    const port = Number(tcpFlag!.split(':').pop());
    expect((worker.expose ?? []).map(String)).toContain(String(port));

    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    // Compose DNS answers the service name with every replica's address.
    expect(config.upstreams.hello.tcp).toEqual([`tcp://worker:${port}`]);
    expect(config.upstream.dnsRefreshMs).toBeLessThanOrEqual(5000);

    expect(proxy.environment?.GATEWIRE_SECRET).toBe(SECRET);
    expect(worker.environment?.GATEWIRE_SECRET).toBe(SECRET);
    expect(django.environment?.GATEWIRE_SECRET).toBeUndefined();
    // The worker's health check proves the secret over the same port.
    expect(worker.environment?.GATEWIRE_HEALTHCHECK_TARGET).toBe(`tcp://127.0.0.1:${port}`);
  });

  it('keeps Django on the socket volume next to the TCP workers', () => {
    const { config } = proxyConfigOf(proxy, serviceImage(proxy));
    expect(config.upstreams.django.socketDir).toBe(flagValue(django.command ?? [], '--socket-dir'));
    expect(mountOf(django, 'sockets')?.target).toBe(mountOf(proxy, 'sockets')?.target);
    expect(proxy.init && worker.init && django.init).toBe(true);
  });
});
