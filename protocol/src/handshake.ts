import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Limits, PROTOCOL_VERSION } from './constants.js';
import type { Hello } from './control-payloads.js';
import { ProtocolError } from './errors.js';

/** A fresh HELLO nonce (SPEC §5.2: 16–64 random bytes per connection). */
export function newNonce(): Buffer {
  return randomBytes(32);
}

/** Features in effect: those both HELLOs list (SPEC §5.3). */
export function negotiateFeatures(ours: readonly string[], theirs: readonly string[]): Set<string> {
  const theirSet = new Set(theirs);
  return new Set(ours.filter((feature) => theirSet.has(feature)));
}

/** Checks that the peer's HELLO comes from the role we expect (SPEC §5.2). */
export function expectRole(hello: Hello, role: 'proxy' | 'worker'): void {
  if (hello.role !== role) {
    throw new ProtocolError('HANDSHAKE_ERROR', `peer says it is a ${hello.role}; expected a ${role}`);
  }
}

const LABEL_PROXY = Buffer.from('gatewire-v1 proxy', 'ascii');
const LABEL_WORKER = Buffer.from('gatewire-v1 worker', 'ascii');

/**
 * The shared-secret proof of SPEC §5.4:
 * proxy: HMAC-SHA256(S, "gatewire-v1 proxy" || Nw || Np); worker: HMAC-SHA256(S, "gatewire-v1 worker" || Np || Nw).
 */
export function authProof(
  secret: Uint8Array,
  role: 'proxy' | 'worker',
  proxyNonce: Uint8Array,
  workerNonce: Uint8Array,
): Buffer {
  const hmac = createHmac('sha256', secret);
  if (role === 'proxy') {
    hmac.update(LABEL_PROXY);
    hmac.update(workerNonce);
    hmac.update(proxyNonce);
  } else {
    hmac.update(LABEL_WORKER);
    hmac.update(proxyNonce);
    hmac.update(workerNonce);
  }
  return hmac.digest();
}

/** Constant-time check of a peer's proof; throws AUTH_FAILED on mismatch. */
export function verifyAuthProof(
  proof: Uint8Array,
  secret: Uint8Array,
  role: 'proxy' | 'worker',
  proxyNonce: Uint8Array,
  workerNonce: Uint8Array,
): void {
  const expected = authProof(secret, role, proxyNonce, workerNonce);
  if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
    throw new ProtocolError(
      'AUTH_FAILED',
      `the ${role}'s shared-secret proof does not match: the two sides have different secrets`,
    );
  }
}

export interface HelloOptions {
  role: 'proxy' | 'worker';
  maxFrameSize?: number;
  initialWindow?: number;
  maxStreams?: number;
  /** Worker: streams it runs at once when the `queue` feature is in effect (SPEC §6.4). */
  concurrency?: number;
  features?: string[];
  auth?: boolean;
  server?: string;
  name?: string;
  pid?: number;
}

/** Defaults both gatewire implementations advertise. */
export const DEFAULT_MAX_FRAME_SIZE = 262_144;
export const DEFAULT_INITIAL_WINDOW = 262_144;

/** Builds a HELLO with a fresh nonce and range-checked limits. */
export function makeHello(options: HelloOptions): Hello {
  const hello: Hello = {
    version: PROTOCOL_VERSION,
    role: options.role,
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    initialWindow: options.initialWindow ?? DEFAULT_INITIAL_WINDOW,
    maxStreams: options.maxStreams ?? (options.role === 'proxy' ? 0 : 1),
    features: options.features ?? [],
    nonce: newNonce(),
  };
  if (hello.maxFrameSize < Limits.MIN_MAX_FRAME_SIZE || hello.maxFrameSize > Limits.MAX_MAX_FRAME_SIZE) {
    throw new RangeError(
      `maxFrameSize ${hello.maxFrameSize} is not in ${Limits.MIN_MAX_FRAME_SIZE}…${Limits.MAX_MAX_FRAME_SIZE}`,
    );
  }
  if (hello.initialWindow < Limits.MIN_INITIAL_WINDOW || hello.initialWindow > Limits.MAX_WINDOW) {
    throw new RangeError(
      `initialWindow ${hello.initialWindow} is not in ${Limits.MIN_INITIAL_WINDOW}…${Limits.MAX_WINDOW}`,
    );
  }
  if (options.concurrency !== undefined) {
    if (
      !Number.isInteger(options.concurrency) ||
      options.concurrency < 1 ||
      options.concurrency > hello.maxStreams
    ) {
      throw new RangeError(
        `concurrency ${options.concurrency} is not in 1…${hello.maxStreams} (max_streams)`,
      );
    }
    hello.concurrency = options.concurrency;
  }
  if (options.auth) hello.auth = 'hmac-sha256';
  if (options.server !== undefined) hello.server = options.server;
  if (options.pid !== undefined) hello.pid = options.pid;
  if (options.name !== undefined) hello.name = options.name;
  return hello;
}
