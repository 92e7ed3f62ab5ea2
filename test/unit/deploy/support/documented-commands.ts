/**
 * The deploy commands README.md's "## Deploy" section gives, each with the test that exercises it.
 * test/unit/deploy/readme-deploy.test.ts holds the README to exactly this list (both ways), and the
 * tests named here run each command, or, where it needs a Docker engine or a cluster, reproduce what
 * it does with real processes (test/e2e/topology/support/compose-emulator.ts).
 */
export interface DocumentedCommand {
  readonly command: string;
  /** The test file (under test/) that exercises it, and how. */
  readonly exercisedBy: string;
}

export const DOCUMENTED_COMMANDS: readonly DocumentedCommand[] = [
  {
    command: 'docker compose up -d --build',
    exercisedBy:
      'unit/deploy/compose.test.ts validates the file with docker-compose config; e2e/topology/socket-dir.test.ts starts proxy, worker and django as the file says',
  },
  {
    command: 'curl http://localhost:8080/',
    exercisedBy: 'e2e/topology/socket-dir.test.ts (GET /: the hello app)',
  },
  {
    command: 'curl http://localhost:8080/django/',
    exercisedBy: 'e2e/topology/socket-dir.test.ts (GET /django/: Django, SCRIPT_NAME /django)',
  },
  {
    command: 'docker compose up -d --scale worker=4',
    exercisedBy: 'e2e/topology/socket-dir.test.ts (four worker containers found through the socket volume)',
  },
  {
    command: 'docker compose kill -s HUP worker',
    exercisedBy: 'e2e/topology/socket-dir.test.ts (SIGHUP to each worker container init; no failed request)',
  },
  {
    command: 'docker compose up -d --scale worker=2',
    exercisedBy:
      'e2e/topology/socket-dir.test.ts (two containers stopped with SIGTERM: drained, no failed request)',
  },
  {
    command: 'export GATEWIRE_SECRET=$(openssl rand -hex 32)',
    exercisedBy: 'unit/deploy/compose.test.ts (the TCP file refuses to resolve without it)',
  },
  {
    command: 'docker compose -f docker-compose.yml -f docker-compose.tcp.yml up -d --scale worker=3',
    exercisedBy:
      'unit/deploy/compose.test.ts (docker-compose config of both files); e2e/topology/tcp.test.ts (three TCP workers behind one name)',
  },
  {
    command: 'docker build --target proxy -t gatewire/proxy .',
    exercisedBy: 'unit/deploy/dockerfiles.test.ts (stages, COPY sources); e2e/topology lays the image out',
  },
  {
    command: 'docker build --target worker -t gatewire/worker .',
    exercisedBy: 'unit/deploy/dockerfiles.test.ts; e2e/topology/*.test.ts',
  },
  {
    command: 'docker build -f Dockerfile.python -t gatewire/django .',
    exercisedBy: 'unit/deploy/dockerfiles.test.ts; e2e/topology/socket-dir.test.ts',
  },
  {
    command:
      'kubectl create secret generic gatewire-secret --from-literal=GATEWIRE_SECRET="$(openssl rand -hex 32)"',
    exercisedBy: 'unit/deploy/k8s.test.ts (the name and key the Deployments read)',
  },
  {
    command: 'kubectl apply -f deploy/k8s/gatewire.yaml',
    exercisedBy: 'unit/deploy/k8s.test.ts (parsed, keys checked, proxy config validated)',
  },
  {
    command: 'kubectl scale deployment/gatewire-worker --replicas=5',
    exercisedBy:
      'unit/deploy/k8s.test.ts (the Deployment name); e2e/topology/tcp.test.ts (replicas behind one name)',
  },
];
