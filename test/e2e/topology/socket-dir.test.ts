/**
 * The docker-compose.yml topology, reproduced with real processes: the services as
 * `docker-compose config` resolves them, each replica a container of its own (PID, UTS and mount
 * namespaces, the image's files and user, tini as PID 1 for `init: true`: support/container.ts),
 * sharing nothing but the named volumes. While clients keep requesting through the proxy:
 *
 *   docker compose up -d --build               proxy, django, worker: every health check passes;
 *                                              /, /django/, /static/… answer as the README says
 *   docker compose up -d --scale worker=4      the proxy finds four containers by itself
 *   docker compose kill -s HUP worker          every container reloads (new pids); no failed request
 *   docker kill (SIGKILL) one worker container only requests in flight on it fail, with 502
 *   docker compose up -d --scale worker=2      a container stopped with SIGTERM drains: no failure
 *   docker compose up -d --scale worker=3      a new container joins
 *   docker compose down                        every container exits 0
 *
 * The one change to the compose model: the proxy listens on a free port instead of 8080 (the
 * containers share this machine's network, where 8080 may be taken); `ports: 8080:8080` is what
 * publishing would map.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeConfig } from '../../unit/deploy/support/tools.js';
import { ComposeProject } from './support/compose-emulator.js';
import { accessLog, freePort, served, waitForDjango, waitHealthy } from './support/helpers.js';
import { stageNodeImage, stagePythonImage } from './support/image-stage.js';
import { RequestLoop } from './support/request-loop.js';

const APP = fileURLToPath(new URL('./apps/topology-app.ts', import.meta.url));

describe('docker-compose.yml topology: proxy and workers sharing only a socket volume', () => {
  let dir: string;
  let project: ComposeProject;
  let loop: RequestLoop | null = null;
  let origin: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatewire-topology-'));
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const model = composeConfig(['docker-compose.yml'], { WORKER_PROCESSES: '1', DJANGO_PROCESSES: '1' });
    const node = stageNodeImage(dir, { '/opt/gatewire/test-apps/topology-app.ts': APP });
    const python = stagePythonImage(dir);
    const published = (value: string) => value.replace('127.0.0.1:8080', `127.0.0.1:${port}`);
    project = new ComposeProject(model, dir, {
      proxy: { image: node, rewrite: published, imageEnv: { GATEWIRE_PORT: String(port) } },
      worker: { image: node, imageEnv: { GATEWIRE_APP: '/opt/gatewire/test-apps/topology-app.ts' } },
      django: { image: python },
    });
  });

  afterAll(async () => {
    await loop?.stop();
    await project?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves, scales, reloads, survives a killed worker and drains removed ones with no other failure', async () => {
    // docker compose up -d --build
    const [proxy] = await project.scale('proxy', 1);
    const [django] = await project.scale('django', 1);
    await project.scale('worker', 1);
    expect(await waitHealthy(project, django)).toMatch(
      /^healthy: \/run\/gatewire\/django\/gatewire_demo-[0-9a-f]{12}\.\d+\.sock/,
    );
    expect(await waitHealthy(project, project.replicas('worker')[0])).toMatch(
      /^healthy: \/run\/gatewire\/hello\/topology-app-[0-9a-f]{12}\.\d+\.sock/,
    );
    // The proxy answers /healthz/ itself, from the file in the image.
    expect(await waitHealthy(project, proxy)).toBe(`healthy: ${origin}/healthz/: HTTP 200\n`);

    // The README's curls: the hello app, Django under /django/, Django's static files from the volume.
    const home = await request(`${origin}/`);
    expect(home.statusCode).toBe(200);
    expect(await home.body.text()).toContain('Hello from gatewire');
    await waitForDjango(origin);
    const page = await request(`${origin}/django/`);
    expect(page.statusCode).toBe(200);
    const html = await page.body.text();
    const css = /href="(\/static\/demo\/site\.[0-9a-f]{12}\.css)"/.exec(html)?.[1];
    expect(css, 'the page links the hashed stylesheet collectstatic wrote').toBeDefined();
    expect(html).toContain('action="/django/greet/"'); // SCRIPT_NAME from the /django/ mount
    const stylesheet = await request(`${origin}${css!}`);
    expect(stylesheet.statusCode).toBe(200);
    await stylesheet.body.text();
    const info = await request(`${origin}/django/api/info/`);
    expect(((await info.body.json()) as { scheme: string }).scheme).toBe('http');
    expect(accessLog(proxy).find((line) => line.path === css)?.upstream).toBe('static');

    // docker compose up -d --scale worker=4
    await project.scale('worker', 4);
    const workers = project.replicas('worker');
    await Promise.all(workers.map((replica) => waitHealthy(project, replica)));
    const hosts = workers.map((replica) => replica.container.spec.id);
    // Every container numbers its processes from 1 (own PID namespace), so pids repeat across
    // containers; the hostname in the socket name is what keeps them apart (SPEC §16).
    const sockets = readdirSync(project.volume('sockets') + '/hello').sort();
    expect(sockets).toHaveLength(4);
    expect(new Set(sockets.map((name) => name.split('.')[0]))).toEqual(
      new Set(hosts.map((host) => `topology-app-${host}`)),
    );
    for (const replica of workers) {
      const pid1 = await replica.container.pid1();
      // PID 1 of every container is tini (compose `init: true`), pid 1 in its own namespace.
      expect(readFileSync(`/proc/${pid1}/comm`, 'utf8').trim()).toBe('tini');
      expect(/^NSpid:\s+\d+\s+(\d+)$/m.exec(readFileSync(`/proc/${pid1}/status`, 'utf8'))?.[1]).toBe('1');
    }

    loop = new RequestLoop(origin, (n) => (n % 2 === 0 ? '/whoami' : '/slow?ms=150'));
    loop.start(6);
    await loop.until(
      (outcomes) => hosts.every((host) => served(outcomes, host).length > 0),
      'every worker container to serve',
    );

    // docker compose kill -s HUP worker
    const pidsBefore = new Map(hosts.map((host) => [host, served(loop!.outcomes, host).at(-1)!.pid]));
    const hup = loop.mark();
    await project.kill('worker', 'SIGHUP');
    await loop.until(
      (outcomes) =>
        hosts.every((host) =>
          outcomes.some((o) => o.host === host && o.startSeq > hup && o.pid !== pidsBefore.get(host)),
        ),
      'every worker container to answer from a reloaded process',
    );
    expect(workers.every((replica) => replica.container.running)).toBe(true);

    // docker kill of one worker container: SIGKILL to its PID 1 takes every process in it.
    const killed = workers[3];
    const killedHost = killed.container.spec.id;
    const kill = loop.mark();
    await killed.container.signal('SIGKILL');
    expect((await killed.container.exited).code).not.toBe(0);
    const afterKill = loop.mark();
    await loop.until(
      (outcomes) => outcomes.filter((o) => o.startSeq > afterKill && o.status === 200).length >= 40,
      '40 requests after the kill',
    );
    // Its socket files stay behind (nothing removed them); the proxy ignores them, refused (SPEC §16).
    expect(
      readdirSync(project.volume('sockets') + '/hello').filter((name) => name.includes(`-${killedHost}.`)),
    ).not.toEqual([]);

    // docker compose up -d --scale worker=2: the highest-numbered running container is stopped (SIGTERM).
    const removed = workers[2];
    const stopping = loop.mark();
    await project.scale('worker', 2);
    expect((await removed.container.exited).code).toBe(0); // drained, not killed
    const stopped = loop.mark();
    await loop.until(
      (outcomes) => outcomes.filter((o) => o.startSeq > stopped && o.status === 200).length >= 40,
      '40 requests after the scale-down',
    );

    // docker compose up -d --scale worker=3: a new container joins without the proxy being told.
    const [added] = await project.scale('worker', 3);
    await waitHealthy(project, added);
    await loop.until(
      (outcomes) => served(outcomes, added.container.spec.id).length > 0,
      'the new container to serve',
    );
    const finished = loop;
    loop = null;
    await finished.stop();

    const outcomes = finished.outcomes;
    expect(outcomes.length).toBeGreaterThan(100);
    expect(outcomes.filter((outcome) => outcome.error !== null)).toEqual([]);
    // The only failures: requests in flight on the killed container at the kill, answered 502 by
    // the proxy (WORKER_DIED), as its access log shows.
    const log = accessLog(proxy);
    const failures = outcomes.filter((outcome) => outcome.status !== 200);
    for (const failure of failures) {
      expect(failure.status).toBe(502);
      // Started before the container was gone: SIGKILL takes a moment to end the processes, and a
      // request the proxy wrote to one of them in between was on it when it died.
      expect(failure.startSeq).toBeLessThan(afterKill);
      expect(failure.endSeq).toBeGreaterThan(kill);
      const line = log.find((entry) => entry.requestId === failure.requestId);
      expect(line?.upstream).toContain(`-${killedHost}.`);
    }
    // No request reached a container after it was gone, or one draining after its drain began.
    expect(outcomes.filter((o) => o.host === killedHost && o.startSeq > afterKill)).toEqual([]);
    expect(outcomes.filter((o) => o.host === removed.container.spec.id && o.startSeq > stopped)).toEqual([]);
    expect(stopping).toBeLessThan(stopped);
    expect(project.replicas('worker').map((replica) => replica.number)).toEqual([1, 2, 5]);

    console.log(
      `topology: ${outcomes.length} requests, ${failures.length} answered 502 (in flight on the killed container), 0 other failures`,
    );

    // docker compose down: every container drains and exits 0 (through tini, which passes the status on).
    const statuses = await project.down();
    expect(statuses.map((status) => `${status.label}: ${status.code}`).sort()).toEqual(
      ['django-1', 'proxy-1', 'worker-1', 'worker-2', 'worker-5'].map((label) => `${label}: 0`),
    );
  }, 180_000);
});
