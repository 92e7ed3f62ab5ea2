import { describe, expect, it } from 'vitest';
import { HELP_TEXT, parseCommandLine } from '@gatewire/worker';
import { hostLabel } from '../../integration/worker/support/host-label.js';

function run(args: string[], env: Record<string, string> = {}) {
  const command = parseCommandLine(args, env);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command;
}

function failure(args: string[], env: Record<string, string> = {}): string {
  try {
    parseCommandLine(args, env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the command line to be refused');
}

describe('parseCommandLine', () => {
  it('reads the supervisor flags into a frozen config with defaults', () => {
    const { config } = run([
      'examples/hello/app.ts',
      '--socket-dir',
      '/run/gw',
      '--processes=3',
      '--concurrency',
      '64',
      '--max-requests',
      '1000',
      '--timeout',
      '2.5',
      '--max-memory',
      '512',
      '--grace',
      '10',
      '--log-level',
      'warn',
      '--log-format',
      'json',
    ]);
    expect(config).toMatchObject({
      name: `hello-${hostLabel}`,
      listen: { kind: 'socket-dir', dir: '/run/gw' },
      processes: 3,
      concurrency: 64,
      maxRequests: 1000,
      maxRequestsJitter: 100,
      timeoutMs: 2500,
      maxMemoryBytes: 512 * 1024 * 1024,
      graceMs: 10_000,
      logLevel: 'warn',
      logFormat: 'json',
      fastWebObjects: true,
    });
    expect(config.app).toMatch(/examples\/hello\/app\.ts$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the app from GATEWIRE_APP and single-process mode from GATEWIRE_SOCKET', () => {
    const { config } = run([], { GATEWIRE_APP: '/srv/app.ts', GATEWIRE_SOCKET: '/tmp/one.sock' });
    expect(config.app).toBe('/srv/app.ts');
    expect(config.listen).toEqual({ kind: 'socket', path: '/tmp/one.sock' });
    expect(config.processes).toBe(1);
    expect(config.name).toBe(`srv-${hostLabel}`);
  });

  it('requires GATEWIRE_SECRET for TCP and parses the address', () => {
    expect(failure(['a.ts', '--tcp', 'tcp://0.0.0.0:9000'])).toMatch(/GATEWIRE_SECRET/);
    const { config, secret } = run(['a.ts', '--tcp', 'tcp://[::1]:9000'], { GATEWIRE_SECRET: 'x' });
    expect(config.listen).toEqual({ kind: 'tcp', host: '::1', port: 9000 });
    expect(secret).toBe('x');
  });

  it.each([
    [['a.ts', '--socket-dir', 'd', '--procesess', '2'], /unknown option --procesess/],
    [['a.ts', '--socket-dir', 'd', '--processes', 'two'], /--processes: expected a whole number, got "two"/],
    [['a.ts', '--socket-dir', 'd', '--processes', '0'], /--processes: must be at least 1/],
    [['a.ts', '--socket-dir'], /--socket-dir needs a value/],
    [['a.ts', '--socket', 's', '--processes', '2'], /--processes: single-process mode/],
    [['a.ts', '--socket', 's', '--socket-dir', 'd'], /exclude each other/],
    [['a.ts'], /nowhere to listen/],
    [['--socket', 's'], /no app given/],
    [['a.ts', '--socket', 's', '--log-level', 'loud'], /--log-level: expected one of/],
    [['a.ts', '--socket', 's', '--name', 'a b'], /--name: "a b" must match/],
    [['a.ts', '--tcp', 'localhost:80'], /--tcp: expected tcp:\/\/HOST:PORT/],
    [['a.ts', '--socket', 's', '--timeout', '-1'], /--timeout needs a value|expected a number/],
  ])('refuses %j naming the flag', (args, message) => {
    expect(failure(args, { GATEWIRE_SECRET: 'x' })).toMatch(message);
  });

  it('answers --help with the help text, which lists every flag', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    for (const flag of [
      '--socket-dir',
      '--socket',
      '--tcp',
      '--processes',
      '--concurrency',
      '--max-requests',
      '--timeout',
      '--max-memory',
      '--grace',
      '--log-level',
      '--log-format',
      '--name',
    ]) {
      expect(HELP_TEXT).toContain(flag);
    }
  });
});
