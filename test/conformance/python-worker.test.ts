import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { runWorkerContract } from './src/vitest.js';

/**
 * The Python WSGI worker (worker-runtime/python), serving apps/conformance_app.py, against the
 * whole contract. It runs from the checkout (PYTHONPATH), so only its requirements (msgpack) need
 * installing.
 */
const packageDir = fileURLToPath(new URL('../../worker-runtime/python', import.meta.url));
const appDir = fileURLToPath(new URL('./apps', import.meta.url));
const env = {
  ...process.env,
  PYTHONPATH: [packageDir, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
};

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

const probe = spawnSync('python3', ['-c', 'import gatewire_wsgi, msgpack'], { env, encoding: 'utf8' });

if (probe.status !== 0) {
  test('the Python worker can be imported', () => {
    throw new Error(
      `python3 cannot import gatewire_wsgi from ${packageDir}: ${(probe.stderr || probe.error?.message || '').trim()}\n` +
        'install its requirements: pip install -r worker-runtime/python/requirements.txt (or pip install -e worker-runtime/python)',
    );
  });
} else {
  runWorkerContract({
    name: 'Python worker (gatewire-wsgi)',
    start: {
      command: `python3 -m gatewire_wsgi conformance_app:application --socket "$GATEWIRE_SOCKET" --threads 4 --chdir "${appDir}"`,
      env,
    },
    skip: [
      {
        reason:
          'WSGI (PEP 3333) has no API for upgrades: the Python worker does not list "upgrade", and /tunnel answers 426',
        tests: ['upgrade', 'vectors.frame.request-upgrade-all-keys'],
      },
      {
        reason:
          'the Python worker on a Unix socket asks for no shared secret, so the AUTH vectors have no subject',
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
    // One run slot, two queue slots (SPEC §6.4): requests run inline on the connection's reader.
    name: 'Python worker, --threads 1 --backlog 2',
    start: {
      command: `python3 -m gatewire_wsgi conformance_app:application --socket "$GATEWIRE_SOCKET" --threads 1 --backlog 2 --chdir "${appDir}"`,
      env,
    },
    only: [
      'handshake.hello',
      'queue',
      'concurrency',
      'stream',
      'cancel',
      'flow',
      'vectors.sequence.recall-*',
    ],
  });
  runWorkerContract({
    name: 'Python worker with a shared secret',
    start: {
      command: `python3 -m gatewire_wsgi conformance_app:application --socket "$GATEWIRE_SOCKET" --threads 4 --chdir "${appDir}"`,
      env: { ...env, GATEWIRE_SECRET: VECTORS_SECRET },
    },
    secret: Buffer.from(VECTORS_SECRET),
    only: AUTH_CHECKS,
  });
}
