import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { runWorkerContract } from './src/vitest.js';

/** The TypeScript worker runtime, serving apps/conformance-app.ts, against the whole contract. */
const entry = fileURLToPath(new URL('../../worker-runtime/dist/main.js', import.meta.url));
const app = fileURLToPath(new URL('./apps/conformance-app.ts', import.meta.url));

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
}
