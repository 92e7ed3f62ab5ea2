import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/** The gatewire-conformance command, run from source as a real process. */
const main = fileURLToPath(new URL('./src/main.ts', import.meta.url));
const reference = fileURLToPath(new URL('./fixtures/reference-worker.mjs', import.meta.url));
const referenceCommand = (variant = '') =>
  `node "${reference}" --socket "$GATEWIRE_SOCKET"${variant ? ` --variant ${variant}` : ''}`;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('gatewire-conformance', () => {
  test('prints one ok line per check and the summary, and exits 0 when nothing fails', () => {
    const { status, stdout } = cli([
      '--worker',
      referenceCommand(),
      '--only',
      'handshake.preface,request.get',
      '--only',
      'environ',
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('ok   handshake.preface');
    expect(lines.filter((line) => line.startsWith('ok   environ.'))).toHaveLength(7);
    expect(lines.at(-1)).toBe('9 passed, 0 failed, 0 skipped');
    expect(status).toBe(0);
  });

  test('prints FAIL with the detail and exits 1 when a check fails', () => {
    const { status, stdout } = cli([
      '--worker',
      referenceCommand('stale-nonce'),
      '--only',
      'handshake',
      '--skip',
      'handshake.preface',
    ]);
    expect(stdout).toContain('FAIL handshake.nonce-fresh: two connections got the same HELLO nonce');
    expect(stdout).toContain('skip handshake.preface: skipped by --skip');
    expect(stdout.trim().split('\n').at(-1)).toBe('11 passed, 1 failed, 1 skipped');
    expect(status).toBe(1);
  });

  test('says when the worker never listens, with its output, and exits 2', () => {
    const { status, stderr } = cli([
      '--worker',
      'echo "loading the app" >&2; sleep 30',
      '--start-timeout',
      '500',
    ]);
    expect(stderr).toContain('did not listen on $GATEWIRE_SOCKET');
    expect(stderr).toContain('within 500 ms');
    expect(stderr).toContain('loading the app');
    expect(status).toBe(2);
  });

  test('says when the worker exits before listening, with its output, and exits 2', () => {
    const { status, stderr } = cli(['--worker', 'echo "ImportError: no app" >&2; exit 3']);
    expect(stderr).toContain('exited with code 3 before listening');
    expect(stderr).toContain('ImportError: no app');
    expect(status).toBe(2);
  });

  test('refuses a selector that matches no check, and a missing --worker', () => {
    const unknown = cli(['--worker', 'true', '--only', 'handshake.no-such-check']);
    expect(unknown.stderr).toContain('"handshake.no-such-check" matches no check');
    expect(unknown.status).toBe(2);
    const missing = cli([]);
    expect(missing.stderr).toContain('--worker is required');
    expect(missing.status).toBe(2);
    const badTimeout = cli(['--worker', 'true', '--timeout', 'soon']);
    expect(badTimeout.stderr).toContain('--timeout takes a positive number of milliseconds');
    expect(badTimeout.status).toBe(2);
  });

  test('--list names every check with its SPEC section', () => {
    const { status, stdout } = cli(['--list']);
    expect(stdout).toMatch(/^malformed\.garbage\s+SPEC §4\.1, §4\.2\s+/m);
    expect(stdout).toMatch(/^vectors\.sequence\.handshake\s+SPEC/m);
    expect(status).toBe(0);
  });
});
