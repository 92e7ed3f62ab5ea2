/**
 * deploy/k8s/gatewire.yaml, parsed with Python's yaml module (no cluster here): the proxy and TCP
 * worker Deployments run the Dockerfile images as their user, the headless Service makes the worker
 * name resolve to every pod on the port the workers listen on, the proxy's ConfigMap is a valid
 * proxy config pointing at that name, and both sides read the shared secret from one Secret.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../proxy/src/config/config-validation.js';
import { contextPathOf, createdUser, imageConfig } from './support/dockerfile.js';
import { loadDockerfile, NODE_DOCKERFILE } from './support/images.js';
import { flagValue, loadYamlDocuments, REPO, type Json } from './support/tools.js';

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: Json;
  livenessProbe?: Json;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  securityContext?: Json;
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number };
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
}

type Resource = Json & { kind: string; metadata: { name: string; labels?: Record<string, string> } };

const documents = loadYamlDocuments(join(REPO, 'deploy/k8s/gatewire.yaml')) as Resource[];
const secretExample = loadYamlDocuments(join(REPO, 'deploy/k8s/secret.example.yaml')) as Resource[];

function find(kind: string, name: string): Resource {
  const found = documents.find((doc) => doc.kind === kind && doc.metadata.name === name);
  if (found === undefined) throw new Error(`deploy/k8s/gatewire.yaml has no ${kind} ${name}`);
  return found;
}

function podOf(deployment: Resource): { labels: Record<string, string>; spec: PodSpec } {
  const spec = deployment.spec as {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
  // A Deployment must select its own pods.
  expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
  return { labels: spec.template.metadata.labels, spec: spec.template.spec };
}

function envOf(container: Container, name: string) {
  return container.env?.find((entry) => entry.name === name);
}

const node = loadDockerfile(NODE_DOCKERFILE);
const images = { proxy: imageConfig(node, 'proxy'), worker: imageConfig(node, 'worker') };

describe('deploy/k8s/gatewire.yaml', () => {
  const proxyDeployment = podOf(find('Deployment', 'gatewire-proxy'));
  const workerDeployment = podOf(find('Deployment', 'gatewire-worker'));
  const proxy = proxyDeployment.spec.containers[0];
  const worker = workerDeployment.spec.containers[0];
  const workerService = find('Service', 'gatewire-worker');

  it('holds exactly the objects the README applies, the Secret kept out of it', () => {
    expect(documents.map((doc) => `${doc.kind}/${doc.metadata.name}`)).toEqual([
      'ConfigMap/gatewire-proxy-config',
      'Deployment/gatewire-proxy',
      'Service/gatewire-proxy',
      'Deployment/gatewire-worker',
      'Service/gatewire-worker',
    ]);
  });

  it('has a headless worker Service that selects the worker pods on the port they listen on', () => {
    const spec = workerService.spec as {
      clusterIP: string;
      selector: Record<string, string>;
      ports: Array<{ port: number; targetPort: string }>;
    };
    expect(spec.clusterIP).toBe('None'); // DNS answers with every pod's address, not one virtual IP
    expect(workerDeployment.labels).toMatchObject(spec.selector);
    expect(proxyDeployment.labels).not.toMatchObject(spec.selector);
    const tcp = flagValue(worker.args ?? [], '--tcp');
    expect(tcp).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    const listenPort = Number(tcp!.split(':').pop());
    const named = worker.ports?.find((port) => port.name === spec.ports[0].targetPort);
    expect(named?.containerPort).toBe(listenPort);
    expect(spec.ports[0].port).toBe(listenPort);
  });

  it('gives the proxy a valid config that names the headless Service and re-resolves it', () => {
    const configMap = find('ConfigMap', 'gatewire-proxy-config');
    const configPath = flagValue(proxy.args ?? [], '--config');
    expect(envOf(proxy, 'GATEWIRE_CONFIG')).toBeUndefined();
    // The image's ENV adds no upstream group to the file's (the environment overrides the file).
    expect(Object.keys(images.proxy.env).filter((name) => /SOCKET_DIR|UPSTREAM/.test(name))).toEqual([]);
    const volume = proxyDeployment.spec.volumes?.find((v) => v.configMap?.name === configMap.metadata.name);
    const mount = proxy.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount).toBeDefined();
    const key = configPath!.slice(mount!.mountPath.length + 1);
    const text = (configMap.data as Record<string, string>)[key];
    expect(text, `the ConfigMap has the key ${key}`).toBeDefined();
    const config = validateConfig(JSON.parse(text), 'ConfigMap gatewire-proxy-config');
    const port = (workerService.spec as { ports: Array<{ port: number }> }).ports[0].port;
    expect(config.upstreams.hello.tcp).toEqual([`tcp://${workerService.metadata.name}:${port}`]);
    expect(config.upstream.dnsRefreshMs).toBeLessThanOrEqual(5000);
    // The readiness probe's path is answered by the proxy itself, from a directory in the image.
    const probePath = (proxy.readinessProbe as { httpGet: { path: string } }).httpGet.path;
    const route = config.routes.find((candidate) => candidate.path === probePath);
    expect(route?.static).not.toBeNull();
    expect(contextPathOf(images.proxy, route!.static!.root)).toBe('deploy/health');
  });

  it('has both sides read the shared secret from the one Secret', () => {
    const refs = [proxy, worker].map(
      (container) => envOf(container, 'GATEWIRE_SECRET')?.valueFrom?.secretKeyRef,
    );
    expect(refs[0]).toEqual({ name: 'gatewire-secret', key: 'GATEWIRE_SECRET' });
    expect(refs[1]).toEqual(refs[0]);
    expect(secretExample).toHaveLength(1);
    expect(secretExample[0]).toMatchObject({ kind: 'Secret', metadata: { name: refs[0]!.name } });
    expect(Object.keys(secretExample[0].stringData as Json)).toEqual([refs[0]!.key]);
  });

  it('runs the Dockerfile images as their user, with probes the images contain and grace for the drains', () => {
    const user = createdUser(images.proxy, 'gatewire');
    for (const [pod, image, name] of [
      [proxyDeployment, images.proxy, 'proxy'],
      [workerDeployment, images.worker, 'worker'],
    ] as const) {
      expect(pod.spec.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: user!.uid,
        runAsGroup: user!.gid,
      });
      const container = pod.spec.containers[0];
      expect(container.image).toBe(`gatewire/${name}:dev`);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      // tsx and the body buffers write to /tmp: a writable volume there.
      expect(container.volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
      const probe = (container.livenessProbe as { exec: { command: string[] } }).exec.command;
      expect(contextPathOf(image, probe[1])).toBe('deploy/healthcheck.mjs');
    }
    const readiness = (worker.readinessProbe as { exec: { command: string[] } }).exec.command;
    expect(readiness).toEqual(images.worker.healthcheck!.args);
    // The probe proves the secret on the port the worker listens on.
    const port = flagValue(worker.args ?? [], '--tcp')!
      .split(':')
      .pop();
    expect(envOf(worker, 'GATEWIRE_HEALTHCHECK_TARGET')?.value).toBe(`tcp://127.0.0.1:${port}`);
    const grace = Number(flagValue(worker.args ?? [], '--grace') ?? '30');
    expect(workerDeployment.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(grace + 5);
    expect(proxyDeployment.spec.terminationGracePeriodSeconds).toBeGreaterThan(35); // shutdownTimeoutMs + 5 s
  });
});
