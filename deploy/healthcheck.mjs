#!/usr/bin/env node
/**
 * Container health check for the gatewire Node images (Dockerfile targets `proxy` and `worker`), run
 * by Docker's HEALTHCHECK and by Kubernetes probes. Exit 0: healthy; 1: unhealthy; 2: bad usage.
 *
 *   node deploy/healthcheck.mjs http [URL]        the proxy: its HTTP front accepts and answers
 *   node deploy/healthcheck.mjs worker [TARGET]   a worker: it completes the gatewire handshake
 *                                                 (SPEC §3, §5) and answers a PING (SPEC §12.1)
 *
 * http: URL defaults to $GATEWIRE_HEALTHCHECK_URL, else http://127.0.0.1:8080/healthz/. Any complete
 * HTTP response counts: a 503 because no worker is up is the proxy working as it should; the
 * workers have health checks of their own. The compose and Kubernetes configs route /healthz/ to a
 * static file, so the proxy answers it without a worker.
 *
 * worker: TARGET defaults to $GATEWIRE_HEALTHCHECK_TARGET, else $GATEWIRE_SOCKET_DIR. It is
 *  - a socket directory: the sockets of this container only, `<name>.<pid>.sock` with a name ending
 *    in `-<hostname>` (the workers' default name, SPEC §16), or exactly $GATEWIRE_HEALTHCHECK_NAME
 *    when set. The directory is shared with other containers, whose sockets are not ours to judge.
 *    A socket that refuses connections is stale (SPEC §16) and skipped; at least one must answer,
 *    and every one that accepts must complete the handshake;
 *  - a socket path;
 *  - tcp://HOST:PORT, with the shared secret from $GATEWIRE_SECRET (SPEC §5.4): the check proves it
 *    and verifies the worker's proof, so a secret mismatch is reported as unhealthy.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import {
  FrameDecoder,
  FrameEncoder,
  FrameType,
  authProof,
  decodeAuth,
  decodeGoaway,
  decodeHello,
  errorCodeName,
  expectRole,
  makeHello,
  verifyAuthProof,
} from '@gatewire/protocol';

const TIMEOUT_MS = 4000;

class Unhealthy extends Error {}

/** The host part of the workers' default socket name (worker-config.ts defaultName, config.py default_name). */
export function hostLabel(host = hostname()) {
  return host
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24);
}

/** Sockets in `dir` that belong to this container: `<name>.<pid>.sock`, name exact or ending in -<host>. */
export function ownSockets(files, { name, host = hostLabel() }) {
  const own = [];
  for (const file of files) {
    const match = /^([A-Za-z0-9_-]+)\.(\d+)\.sock$/.exec(file);
    if (match === null) continue;
    if (name ? match[1] === name : match[1].endsWith(`-${host}`)) own.push(file);
  }
  return own.sort();
}

/** Preface + HELLO, AUTH when the worker asks for it, then PING → PONG. Resolves with the worker's HELLO. */
function probe(address, secret) {
  return new Promise((resolve, reject) => {
    const socket = connect(address);
    const encoder = new FrameEncoder();
    const ours = makeHello({ role: 'proxy', features: ['health'], server: 'gatewire-healthcheck' });
    const opaque = randomBytes(8);
    let theirs = null;
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      // A clean goodbye, so that the worker logs no lost peer (SPEC §11).
      encoder.goaway(0, 'NO_ERROR', 'health check done');
      socket.end(encoder.takeBuffer());
      resolve(value);
    };
    const timer = setTimeout(
      () => finish(new Unhealthy(`no complete handshake and PONG within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    const sendPing = () => {
      encoder.ping(opaque);
      socket.write(encoder.takeBuffer());
    };
    const decoder = new FrameDecoder({
      onFrame(type, _flags, _streamId, payload) {
        try {
          if (theirs === null) {
            if (type !== FrameType.HELLO) throw new Unhealthy(`first frame is type ${type}, not HELLO`);
            theirs = decodeHello(payload);
            expectRole(theirs, 'worker');
            if (theirs.auth !== undefined) {
              if (!secret) throw new Unhealthy('the worker requires the shared secret; set GATEWIRE_SECRET');
              encoder.maxFrameSize = theirs.maxFrameSize;
              encoder.auth({ proof: authProof(Buffer.from(secret), 'proxy', ours.nonce, theirs.nonce) });
              socket.write(encoder.takeBuffer());
            }
            sendPing(); // allowed once the peer's HELLO is in, also before AUTH (SPEC §5.1)
          } else if (type === FrameType.AUTH) {
            const auth = decodeAuth(payload);
            verifyAuthProof(auth.proof, Buffer.from(secret), 'worker', ours.nonce, theirs.nonce);
          } else if (type === FrameType.GOAWAY) {
            const goaway = decodeGoaway(payload);
            throw new Unhealthy(`worker sent GOAWAY ${errorCodeName(goaway.code)}: ${goaway.message}`);
          } else if (type === FrameType.PONG) {
            if (Buffer.compare(payload, opaque) === 0) finish(null, theirs);
          }
        } catch (error) {
          finish(error);
        }
      },
      onData() {
        finish(new Unhealthy('DATA frame on a connection with no stream'));
      },
    });
    socket.on('connect', () => {
      encoder.preface();
      encoder.hello(ours);
      socket.write(encoder.takeBuffer());
    });
    socket.on('data', (chunk) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        finish(error);
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Unhealthy('connection closed before the PONG')));
  });
}

function describe(hello) {
  return `${hello.name ?? '?'} pid ${hello.pid ?? '?'} (${hello.server ?? 'unknown server'}), max_streams ${hello.maxStreams}`;
}

async function checkWorker(target, env) {
  const secret = env.GATEWIRE_SECRET || undefined;
  const tcp = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(target);
  if (tcp !== null) {
    const host = tcp[1].replace(/^\[|\]$/g, '');
    const hello = await probe({ host, port: Number(tcp[2]) }, secret);
    return [`${target}: ${describe(hello)}`];
  }
  if (target.endsWith('.sock')) {
    const hello = await probe({ path: target }, secret);
    return [`${target}: ${describe(hello)}`];
  }
  let files;
  try {
    files = await readdir(target);
  } catch (error) {
    throw new Unhealthy(`cannot read the socket directory ${target}: ${error.message}`);
  }
  const name = env.GATEWIRE_HEALTHCHECK_NAME || undefined;
  const own = ownSockets(files, { name });
  const what = name ? `${name}.<pid>.sock` : `<name>-${hostLabel()}.<pid>.sock`;
  if (own.length === 0) throw new Unhealthy(`no socket of this container (${what}) in ${target}`);
  const lines = [];
  for (const file of own) {
    const path = join(target, file);
    try {
      lines.push(`${path}: ${describe(await probe({ path }, secret))}`);
    } catch (error) {
      // SPEC §16: only a refused connection makes a socket stale (its process is gone).
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') lines.push(`${path}: stale, skipped`);
      else throw new Unhealthy(`${path}: ${error.message}`);
    }
  }
  if (lines.every((line) => line.endsWith('stale, skipped'))) {
    throw new Unhealthy(`every socket of this container in ${target} is stale: ${own.join(', ')}`);
  }
  return lines;
}

function checkHttp(url) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', timeout: TIMEOUT_MS, headers: { 'user-agent': 'gatewire-healthcheck' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve([`${url}: HTTP ${res.statusCode}`]));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Unhealthy(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function main(argv, env) {
  const [mode, argument] = argv;
  if (mode === 'http')
    return checkHttp(argument ?? env.GATEWIRE_HEALTHCHECK_URL ?? 'http://127.0.0.1:8080/healthz/');
  if (mode === 'worker') {
    const target = argument ?? (env.GATEWIRE_HEALTHCHECK_TARGET || env.GATEWIRE_SOCKET_DIR);
    if (!target)
      throw new UsageError(
        'worker: no target; pass one or set GATEWIRE_HEALTHCHECK_TARGET or GATEWIRE_SOCKET_DIR',
      );
    return checkWorker(target, env);
  }
  throw new UsageError('usage: healthcheck.mjs http [URL] | worker [SOCKET_DIR | SOCKET | tcp://HOST:PORT]');
}

class UsageError extends Error {}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A hard deadline whatever happens (a stuck DNS lookup, say): Docker's own timeout is 5 s.
  const deadline = delay(TIMEOUT_MS + 500, null, { ref: false });
  void deadline.then(() => {
    process.stderr.write('unhealthy: health check timed out\n');
    process.exit(1);
  });
  main(process.argv.slice(2), process.env).then(
    (lines) => {
      process.stdout.write(`healthy: ${lines.join('; ')}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`${error instanceof UsageError ? '' : 'unhealthy: '}${error.message}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
