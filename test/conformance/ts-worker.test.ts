import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { runWorkerContract } from './src/vitest.js';

/** The TypeScript worker runtime, serving apps/conformance-app.ts, against the whole contract. */
const entry = fileURLToPath(new URL('../../worker-runtime/dist/main.js', import.meta.url));
const app = fileURLToPath(new URL('./apps/conformance-app.ts', import.meta.url));

/** The shared-secret handshake (SPEC §5.4), with the secret of protocol/vectors so its AUTH transcripts apply. */
const VECTORS_SECRET = 'gatewire-vectors-secret';
const AUTH_CHECKS = [
  'auth',
  'vectors.sequence.auth-*',
  'vectors.sequence.request-before-auth',
  'vectors.sequence.second-auth',
  'vectors.error.auth-*',
  'handshake',
  'request',
];

if (!existsSync(entry)) {
  test('the TypeScript worker is built', () => {
    throw new Error(`${entry} does not exist: build the worker runtime first (npx tsc -b worker-runtime)`);
  });
} else {
  runWorkerContract({
    name: 'TypeScript worker (worker-runtime)',
    start: `node "${entry}" "${app}" --socket "$GATEWIRE_SOCKET"`,
    skip: [
      {
        reason:
          'the TS worker on a Unix socket asks for no shared secret, so the AUTH vectors have no subject',
        tests: [
          'vectors.error.auth-*',
          'vectors.sequence.auth-ok',
          'vectors.sequence.auth-wrong-proof',
          'vectors.sequence.request-before-auth',
          'vectors.sequence.second-auth',
        ],
      },
    ],
  });
  runWorkerContract({
    name: 'TypeScript worker with a shared secret',
    start: {
      command: `node "${entry}" "${app}" --socket "$GATEWIRE_SOCKET"`,
      env: { ...process.env, GATEWIRE_SECRET: VECTORS_SECRET },
    },
    secret: Buffer.from(VECTORS_SECRET),
    only: AUTH_CHECKS,
  });
}
