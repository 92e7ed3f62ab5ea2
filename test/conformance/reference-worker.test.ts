import { fileURLToPath } from 'node:url';
import { runWorkerContract } from './src/vitest.js';

/**
 * The suite's own reference worker (fixtures/reference-worker.mjs, written from SPEC.md on the
 * protocol package) passes every check: the contract, registered through the vitest API.
 */
const worker = fileURLToPath(new URL('./fixtures/reference-worker.mjs', import.meta.url));

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

runWorkerContract({
  name: 'reference worker',
  start: `node "${worker}" --socket "$GATEWIRE_SOCKET"`,
  skip: [
    {
      reason: 'the reference worker asks for no shared secret, so the AUTH vectors have no subject here',
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
  name: 'reference worker with a shared secret',
  start: {
    command: `node "${worker}" --socket "$GATEWIRE_SOCKET"`,
    env: { ...process.env, GATEWIRE_SECRET: VECTORS_SECRET },
  },
  secret: Buffer.from(VECTORS_SECRET),
  only: AUTH_CHECKS,
});
