/** Helpers shared by the topology tests. */
import { createServer } from 'node:net';
import { request } from 'undici';
import type { ComposeProject, Replica } from './compose-emulator.js';
import type { Outcome } from './request-loop.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitHealthy(
  project: ComposeProject,
  replica: Replica,
  attempts = 120,
): Promise<string> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    if (!replica.container.running)
      throw new Error(
        `${replica.container.spec.label} exited:\n${replica.container.output.slice(-30).join('\n')}`,
      );
    const result = await project.healthcheck(replica);
    if (result.code === 0) return result.stdout;
    last = `${result.stdout}${result.stderr}`;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${replica.container.spec.label} never became healthy: ${last}\n${replica.container.output.slice(-30).join('\n')}`,
  );
}

export function served(outcomes: readonly Outcome[], host: string): Outcome[] {
  return outcomes.filter((outcome) => outcome.host === host);
}

/** Access-log lines of the proxy (JSON, log: "access"). */
export function accessLog(
  proxy: Replica,
): Array<{ requestId: string; status: number; upstream: string; path: string }> {
  return proxy.container.output
    .filter((line) => line.includes('"log":"access"'))
    .map((line) => JSON.parse(line) as { requestId: string; status: number; upstream: string; path: string });
}

export async function waitForDjango(origin: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    const response = await request(`${origin}/django/hello/`);
    await response.body.text();
    if (response.statusCode === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('Django never answered through the proxy');
}
