import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ALL_CHECKS, runConformance } from './src/index.js';
import { matches } from './src/check-selection.js';

/**
 * The suite can fail: each variant of the reference worker breaks one rule of the SPEC, and must
 * fail exactly the checks that judge that rule, no fewer and no more. Variants that break the
 * whole handshake or error path would fail a hundred checks for one reason, so they run on the
 * groups that matter plus some that must still pass; the others run the whole suite (except the
 * CPU-heavy large bodies, unless the rule is about bodies).
 */
const worker = fileURLToPath(new URL('./fixtures/reference-worker.mjs', import.meta.url));

interface Case {
  variant: string;
  args?: string;
  /** Set GATEWIRE_SECRET for the worker and give the suite the same secret. */
  secret?: string;
  /** Selectors of the checks to run; default: everything but `large`. */
  only?: string[];
  /** Selectors of the checks that must fail (all others that run must pass or skip). */
  fails: string[];
  timeoutMs?: number;
}

const NOT_LARGE = ALL_CHECKS.map((check) => check.name).filter((name) => !name.startsWith('large.'));

const HANDSHAKE_ERRORS = [
  'handshake.unsupported-version',
  'handshake.wrong-role',
  'handshake.missing-key',
  'handshake.out-of-range',
  'handshake.wrong-type',
  'handshake.request-before-hello',
  'handshake.second-hello',
];

const CASES: Case[] = [
  {
    variant: 'ignore-flow-control',
    fails: [
      'flow.response-window',
      'flow.stalled-stream-isolated',
      'liveness.ping-while-busy',
      'upgrade.tunnel-echo',
    ],
  },
  { variant: 'big-frames', only: ['flow', 'large', 'request', 'upgrade'], fails: ['flow.max-frame-size'] },
  {
    variant: 'no-window-grants',
    only: [...NOT_LARGE, 'large'],
    fails: ['flow.request-body-window', 'large.upload', 'large.upload-chunked', 'upgrade.tunnel-echo'],
  },
  { variant: 'no-health', fails: ['liveness.health'] },
  { variant: 'stale-nonce', fails: ['handshake.nonce-fresh'] },
  { variant: 'waits-for-preface', fails: ['handshake.preface'] },
  { variant: 'answers-above-last-stream', fails: ['drain.refuses-above-last-stream'] },
  { variant: 'no-refused-stream', args: '--max-streams 4', fails: ['concurrency.refused-beyond-max'] },
  {
    variant: 'ignores-cancel',
    fails: ['concurrency.refused-beyond-max', 'cancel', 'vectors.sequence.closed-stream-frames-ignored'],
  },
  {
    variant: 'resets-closed-streams',
    fails: ['stream.closed-frames-ignored', 'vectors.sequence.closed-stream-frames-ignored'],
  },
  {
    variant: 'ignores-data-after-end',
    fails: ['stream.data-after-end-stream', 'vectors.sequence.data-after-end-stream'],
  },
  { variant: 'merges-headers', fails: ['environ.duplicate-headers'] },
  {
    variant: 'no-drain',
    fails: ['drain.goaway', 'drain.in-flight-completes', 'drain.refuses-above-last-stream'],
  },
  {
    variant: 'no-pong',
    only: [
      'liveness',
      'request',
      'cancel.during-upload',
      'vectors.sequence.handshake',
      'vectors.sequence.hello-version-2',
    ],
    fails: ['liveness', 'cancel.during-upload', 'vectors.sequence.handshake'],
    timeoutMs: 1500,
  },
  {
    variant: 'accepts-any-proof',
    secret: 'gatewire-vectors-secret',
    only: ['auth', 'vectors.sequence.auth-*', 'handshake', 'request'],
    fails: ['auth.wrong-proof', 'vectors.sequence.auth-wrong-proof'],
  },
  { variant: 'wrong-hello-role', only: ['handshake', 'request'], fails: ['handshake', 'request'] },
  {
    variant: 'crash-on-garbage',
    only: [
      'handshake',
      'request',
      'malformed.garbage',
      'malformed.unknown-type',
      'malformed.environ-invalid-msgpack',
      'vectors.preface.http-request',
    ],
    fails: [
      ...HANDSHAKE_ERRORS,
      'handshake.bad-preface',
      'handshake.auth-not-requested',
      'malformed',
      'vectors.preface',
    ],
  },
  {
    variant: 'no-goaway-on-error',
    only: ['handshake', 'request', 'malformed', 'vectors.preface'],
    fails: [...HANDSHAKE_ERRORS, 'handshake.auth-not-requested', 'malformed'],
  },
  {
    variant: 'protocol-error-for-all',
    only: ['handshake', 'request', 'malformed', 'vectors.preface'],
    fails: [
      ...HANDSHAKE_ERRORS,
      'handshake.bad-preface',
      'vectors.preface',
      'malformed.garbage',
      'malformed.oversize-length',
      'malformed.unknown-type',
      'malformed.window-length',
      'malformed.ping-length',
      'malformed.environ-*',
      'malformed.data-beyond-window',
      'malformed.window-zero',
      'malformed.window-overflow',
      'malformed.reset-invalid-payload',
      'malformed.goaway-invalid-payload',
      'malformed.invalid-msgpack-raw-in-map',
    ],
  },
];

function expand(selectors: string[], among: string[]): string[] {
  return among.filter((name) => selectors.some((selector) => matches(selector, name)));
}

describe.concurrent('broken variants of the reference worker fail exactly their checks', () => {
  for (const item of CASES) {
    test(
      item.variant,
      async () => {
        const only = item.only ?? NOT_LARGE;
        const command = `node "${worker}" --socket "$GATEWIRE_SOCKET" --variant ${item.variant} ${item.args ?? ''}`;
        const report = await runConformance({
          worker: item.secret ? { command, env: { ...process.env, GATEWIRE_SECRET: item.secret } } : command,
          secret: item.secret ? Buffer.from(item.secret) : undefined,
          only,
          timeoutMs: item.timeoutMs ?? 3000,
        });
        const ran = report.results.map((result) => result.name);
        const failed = report.results
          .filter((result) => result.status === 'fail')
          .map((result) => result.name);
        const expected = expand(item.fails, ran);
        expect(expected.length).toBeGreaterThan(0);
        const details = report.results
          .filter((result) => result.status === 'fail' && !expected.includes(result.name))
          .map((result) => `${result.name}: ${result.detail}`);
        expect({ failed, unexpected: details }).toEqual({ failed: expected, unexpected: [] });
      },
      120_000,
    );
  }
});
