/**
 * The TCP variant (docker-compose.yml + docker-compose.tcp.yml) reproduced with real processes: the
 * worker containers listen on TCP with the shared secret, and the proxy knows them only by the
 * service name `worker`, which resolves to the address of every replica, re-resolved as replicas
 * come and go. While clients keep requesting:
 *
 *   docker compose -f docker-compose.yml -f docker-compose.tcp.yml up -d --scale worker=2
 *   … up -d --scale worker=3      a third replica: its address joins the name, the proxy uses it
 *   … up -d --scale worker=2      the third drains on SIGTERM, then leaves the name: no failure
 *
 * What stands in for Compose's network: each worker replica listens on its own loopback address
 * (127.0.0.2, .3, …: all of 127/8 reaches this machine's loopback), as each container has its own
 * address, all on one port; the name `worker` is resolved by the proxy from an /etc/hosts bound into
 * its container, which the test rewrites in place as Compose's DNS would change its answer (with
 * `multi on` in the bound /etc/host.conf, so glibc returns every address, as a DNS answer would).
 * Port 9000 is replaced by a port free on all those addresses, in the worker command, its health
 * check target and the proxy's config file (the staged copy).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeConfig } from '../../unit/deploy/support/tools.js';
import { ComposeProject, type Replica } from './support/compose-emulator.js';
import { served, waitForDjango, waitHealthy, freePort } from './support/helpers.js';
import { stageNodeImage, stagePythonImage } from './support/image-stage.js';
import { RequestLoop } from './support/request-loop.js';

const APP = fileURLToPath(new URL('./apps/topology-app.ts', import.meta.url));
const SECRET = 'topology-test-secret-4f1c9a7e2b';
const COMPOSE_PORT = 9000;

/** A port free on every address given (each replica binds it on its own address). */
async function portFreeOn(addresses: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const free = await Promise.all(
      addresses.map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const server = createServer();
            server.once('error', () => resolve(false));
            server.listen(port, host, () => server.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${addresses.join(', ')}`);
}

const addressOf = (replica: number) => `127.0.0.${replica + 1}`;

describe('docker-compose.tcp.yml topology: TCP workers behind one service name, with the shared secret', () => {
  let dir: string;
  let project: ComposeProject;
  let loop: RequestLoop | null = null;
  let origin: string;
  let hostsFile: string;

  /** Compose's DNS answer for `worker`: the address of every replica in `live`. */
  function resolveWorkerTo(live: readonly Replica[]): void {
    const lines = ['127.0.0.1 localhost', ...live.map((replica) => `${addressOf(replica.number)} worker`)];
    writeFileSync(hostsFile, `${lines.join('\n')}\n`); // in place: the bind mount follows the inode
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatewire-topology-tcp-'));
    const proxyPort = await freePort();
    origin = `http://127.0.0.1:${proxyPort}`;
    const port = await portFreeOn([2, 3, 4].map(addressOf));
    const model = composeConfig(['docker-compose.yml', 'docker-compose.tcp.yml'], {
      GATEWIRE_SECRET: SECRET,
      WORKER_PROCESSES: '1',
      DJANGO_PROCESSES: '1',
    });
    const node = stageNodeImage(dir, { '/opt/gatewire/test-apps/topology-app.ts': APP });
    const python = stagePythonImage(dir);

    const configPath = join(node.root, 'deploy/compose/gatewire-tcp.json');
    const config = readFileSync(configPath, 'utf8');
    expect(config).toContain(`"tcp://worker:${COMPOSE_PORT}"`);
    writeFileSync(configPath, config.replace(`tcp://worker:${COMPOSE_PORT}`, `tcp://worker:${port}`));

    hostsFile = join(dir, 'hosts');
    resolveWorkerTo([]);
    const hostConf = join(dir, 'host.conf');
    writeFileSync(hostConf, 'multi on\n');
    chmodSync(hostsFile, 0o644);
    chmodSync(hostConf, 0o644);

    project = new ComposeProject(model, dir, {
      proxy: {
        image: node,
        rewrite: (value) => value.replace('127.0.0.1:8080', `127.0.0.1:${proxyPort}`),
        imageEnv: { GATEWIRE_PORT: String(proxyPort) },
        mounts: [
          { source: hostsFile, target: '/etc/hosts', readOnly: true },
          { source: hostConf, target: '/etc/host.conf', readOnly: true },
        ],
      },
      worker: {
        image: node,
        imageEnv: { GATEWIRE_APP: '/opt/gatewire/test-apps/topology-app.ts' },
        perReplica: (replica) => ({
          rewrite: (value) =>
            value
              .replace(`tcp://0.0.0.0:${COMPOSE_PORT}`, `tcp://${addressOf(replica)}:${port}`)
              .replace(`tcp://127.0.0.1:${COMPOSE_PORT}`, `tcp://${addressOf(replica)}:${port}`),
        }),
      },
      django: { image: python },
    });
  });

  afterAll(async () => {
    await loop?.stop();
    await project?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds replicas through the name, proves the secret, and drains a removed one with no failed request', async () => {
    // … up -d --scale worker=2
    const [proxy] = await project.scale('proxy', 1);
    const [django] = await project.scale('django', 1);
    const first = await project.scale('worker', 2);
    for (const replica of first) {
      // The health check completes the handshake, shared secret included, over the replica's TCP port.
      expect(await waitHealthy(project, replica)).toMatch(
        new RegExp(
          `^healthy: tcp://${addressOf(replica.number).replace(/\./g, '\\.')}:\\d+: topology-app-${replica.container.spec.id} `,
        ),
      );
    }
    resolveWorkerTo(first);
    await waitHealthy(project, proxy);
    await waitHealthy(project, django);
    // The proxy holds the secret for every group; Django on the socket volume still answers.
    await waitForDjango(origin);

    // A peer with another secret is refused by the worker (SPEC §5.4).
    const wrong = await project.healthcheck(first[0], { GATEWIRE_SECRET: 'not-the-secret' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/unhealthy: worker sent GOAWAY AUTH_FAILED/);

    loop = new RequestLoop(origin, (n) => (n % 2 === 0 ? '/whoami' : '/slow?ms=100'));
    loop.start(4);
    const hosts = first.map((replica) => replica.container.spec.id);
    await loop.until(
      (outcomes) => hosts.every((host) => served(outcomes, host).length > 0),
      'both replicas to serve',
    );

    // … up -d --scale worker=3: the new replica's address joins the name; nothing tells the proxy.
    const [third] = await project.scale('worker', 3);
    await waitHealthy(project, third);
    resolveWorkerTo(project.replicas('worker'));
    await loop.until(
      (outcomes) => served(outcomes, third.container.spec.id).length > 0,
      'the third replica to serve',
    );

    // … up -d --scale worker=2: the highest-numbered replica is stopped (SIGTERM: it drains), then
    // its address leaves the name.
    const stopping = loop.mark();
    await project.scale('worker', 2);
    expect((await third.container.exited).code).toBe(0);
    resolveWorkerTo(project.replicas('worker'));
    const gone = loop.mark();
    await loop.until(
      (outcomes) => outcomes.filter((o) => o.startSeq > gone && o.status === 200).length >= 40,
      '40 requests after the scale-down',
    );
    const finished = loop;
    loop = null;
    await finished.stop();

    const outcomes = finished.outcomes;
    expect(outcomes.filter((outcome) => outcome.error !== null)).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.host === third.container.spec.id && o.startSeq > gone)).toEqual([]);
    expect(stopping).toBeLessThan(gone);
    // Every request went to a worker that knows the secret: the proxy's only upstreams.
    expect(new Set(outcomes.map((o) => o.host))).toEqual(new Set([...hosts, third.container.spec.id]));
    const home = await request(`${origin}/`);
    expect(home.statusCode).toBe(200);
    expect(await home.body.text()).toContain('Hello from gatewire');

    const statuses = await project.down();
    expect(statuses.map((status) => `${status.label}: ${status.code}`).sort()).toEqual(
      ['django-1', 'proxy-1', 'worker-1', 'worker-2'].map((label) => `${label}: 0`),
    );
  }, 180_000);
});
