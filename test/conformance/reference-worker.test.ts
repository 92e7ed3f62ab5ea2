import { fileURLToPath } from 'node:url';
import { runWorkerContract } from './src/vitest.js';

/**
 * The suite's own reference worker (fixtures/reference-worker.mjs, written from SPEC.md on the
 * protocol package) passes every check: the contract, registered through the vitest API.
 */
const worker = fileURLToPath(new URL('./fixtures/reference-worker.mjs', import.meta.url));

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
