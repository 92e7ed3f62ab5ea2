/**
 * README.md "## Deploy": its commands are exactly the ones the deploy tests exercise
 * (support/documented-commands.ts names the test for each), and the facts it states (port, user,
 * volume path, grace period, re-resolution interval, defaults) are those of the files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createdUser, imageConfig } from './support/dockerfile.js';
import { DOCUMENTED_COMMANDS } from './support/documented-commands.js';
import { loadDockerfile, NODE_DOCKERFILE } from './support/images.js';
import { composeConfig, flagValue, REPO } from './support/tools.js';

function deploySection(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Deploy\n');
  expect(start, 'README.md has a "## Deploy" section').toBeGreaterThan(0);
  const next = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, next < 0 ? undefined : next);
}

function shellCommands(section: string): string[] {
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (command !== '') commands.push(command);
    }
  }
  return commands;
}

describe('README.md ## Deploy', () => {
  const section = deploySection();

  it('gives exactly the commands the deploy tests exercise', () => {
    expect(shellCommands(section)).toEqual(DOCUMENTED_COMMANDS.map((entry) => entry.command));
    for (const entry of DOCUMENTED_COMMANDS) {
      for (const file of entry.exercisedBy.match(/(?:unit|e2e)\/[\w/.-]+\.test\.ts/g) ?? [])
        expect(existsSync(join(REPO, 'test', file)), `${entry.command}: ${file}`).toBe(true);
    }
  });

  it('names files and services that exist', () => {
    for (const link of section.matchAll(/\]\(([^)#]+)\)/g))
      expect(existsSync(join(REPO, link[1])), link[1]).toBe(true);
    const commands = shellCommands(section);
    const services = Object.keys(composeConfig(['docker-compose.yml']).services);
    for (const command of commands.filter((c) => c.startsWith('docker compose'))) {
      for (const file of command.match(/-f (\S+)/g) ?? [])
        expect(existsSync(join(REPO, file.slice(3)))).toBe(true);
      for (const scaled of command.match(/--scale (\w+)=/g) ?? [])
        expect(services).toContain(scaled.slice(8, -1));
      const killed = /kill -s \w+ (\w+)$/.exec(command);
      if (killed) expect(services).toContain(killed[1]);
    }
  });

  it('states the facts of the compose files, the images and the proxy configs', () => {
    const model = composeConfig(['docker-compose.yml']);
    const tcp = composeConfig(['docker-compose.yml', 'docker-compose.tcp.yml'], { GATEWIRE_SECRET: 'x' });
    const user = createdUser(imageConfig(loadDockerfile(NODE_DOCKERFILE), 'proxy'), 'gatewire');
    expect(section).toContain(`uid ${user!.uid}`);
    expect(section).toContain(`stop_grace_period ${model.services.worker.stop_grace_period}`);
    const port0 = model.services.proxy.ports![0];
    expect(section).toContain(
      `proxy on :${typeof port0 === 'string' ? port0.split(':')[0] : port0.published}`,
    );
    expect(model.services.worker.volumes?.map(String).join(' ')).toContain('sockets:/run/gatewire');
    expect(section).toContain('mounts the `sockets` volume on `/run/gatewire`');
    expect(flagValue(model.services.worker.command ?? [], '--processes')).toBe('2');
    expect(section).toContain('(default 2)');
    const port = flagValue(tcp.services.worker.command ?? [], '--tcp')!
      .split(':')
      .pop();
    expect(section).toContain(`port ${port}`);
    expect(section).toContain(`tcp://worker:${port}`);
    const tcpConfig = JSON.parse(readFileSync(join(REPO, 'deploy/compose/gatewire-tcp.json'), 'utf8')) as {
      upstream: { dnsRefreshMs: number };
    };
    expect(section).toContain(`every ${tcpConfig.upstream.dnsRefreshMs / 1000} s`);
    expect(readFileSync(join(REPO, 'deploy/docker-entrypoint.sh'), 'utf8')).toContain('GATEWIRE_SECRET_FILE');
  });
});
