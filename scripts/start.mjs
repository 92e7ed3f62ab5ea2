#!/usr/bin/env node
/**
 * `npm start`: the gatewire proxy on http://127.0.0.1:8080 in front of a TS worker supervisor with
 * two processes serving examples/hello/app.ts, sharing a socket directory (SPEC §16) in a temporary
 * directory. Logs go to the terminal. Ctrl-C (SIGINT) or SIGTERM stops everything gracefully; a
 * second one, a second or more later, stops it at once.
 *
 *   npm start                    # or: node scripts/start.mjs
 *   PORT=9000 npm start          # another port (HOST: another address, WORKERS: another count)
 *
 * Builds first (tsc -b) when a dist/ is missing or older than its sources, so it works right after
 * `npm ci` in a fresh clone. Exit status: 0 after a clean stop, else the first failing child's.
 *
 * The children run in their own process groups, so a terminal's Ctrl-C reaches only this script,
 * which forwards one signal to each (otherwise the proxy and the supervisor would each see it from
 * the terminal and again from npm, and take the second for "stop now").
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['protocol', 'worker-runtime', 'proxy'];
const APP = join(ROOT, 'examples/hello/app.ts');
/** A repeat of the same signal within this window is the same Ctrl-C (terminal plus npm's forward). */
const SAME_SIGNAL_MS = 1000;
/** After a signal, children that have not exited by then are killed. */
const STOP_TIMEOUT_MS = 40_000;

const port = process.env.PORT ?? '8080';
const host = process.env.HOST ?? '127.0.0.1';
const workers = process.env.WORKERS ?? '2';

function say(line) {
  process.stderr.write(`[start] ${line}\n`);
}

/** Newest modification time under `dir` (files only), 0 if it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

function isStale(name) {
  const info = join(ROOT, name, 'dist/.tsbuildinfo');
  if (!existsSync(info)) return true;
  const built = statSync(info).mtimeMs;
  const sources = Math.max(
    newest(join(ROOT, name, 'src')),
    statSync(join(ROOT, name, 'tsconfig.json')).mtimeMs,
    statSync(join(ROOT, name, 'package.json')).mtimeMs,
  );
  return sources > built;
}

function buildIfNeeded() {
  const stale = PACKAGES.filter(isStale);
  if (stale.length === 0) return;
  say(`building (${stale.join(', ')} missing or older than its sources): tsc -b`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`the build failed (tsc exit ${result.status ?? result.signal}); run npm ci first in a fresh clone`);
    process.exit(result.status ?? 1);
  }
}

buildIfNeeded();

const socketDir = mkdtempSync(join(tmpdir(), 'gatewire-start-'));
const children = [];
let stopping = false;
let exitCode = 0;
let lastSignal = { name: '', at: 0 };

function start(name, args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', detached: true });
  const entry = { name, child, exited: false };
  children.push(entry);
  child.on('exit', (code, signal) => {
    entry.exited = true;
    const failed = code !== 0 && !(stopping && (signal === 'SIGINT' || signal === 'SIGTERM'));
    if (failed && exitCode === 0) exitCode = code ?? 1;
    if (!stopping) {
      say(`${name} exited (${code ?? signal}) on its own: stopping the rest`);
      stop('SIGTERM');
    }
    if (children.every((c) => c.exited)) finish();
  });
  child.on('error', (error) => {
    say(`${name} could not start: ${error.message}`);
    entry.exited = true;
    exitCode ||= 1;
    stop('SIGTERM');
    if (children.every((c) => c.exited)) finish();
  });
  return child;
}

function stop(signal) {
  const now = Date.now();
  if (stopping && signal === lastSignal.name && now - lastSignal.at < SAME_SIGNAL_MS) return;
  const again = stopping;
  stopping = true;
  lastSignal = { name: signal, at: now };
  if (!again) {
    say(`${signal}: stopping the proxy and the workers (again to stop at once)`);
    setTimeout(() => {
      say('children still running: killing them');
      for (const { child, exited } of children) if (!exited) kill(child, 'SIGKILL');
    }, STOP_TIMEOUT_MS).unref();
  }
  // The proxy first: it finishes the requests in flight, then tells the workers (GOAWAY).
  for (const { child, exited } of children) if (!exited) kill(child, signal);
}

function kill(child, signal) {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

function finish() {
  rmSync(socketDir, { recursive: true, force: true });
  say(exitCode === 0 ? 'stopped' : `stopped (exit ${exitCode})`);
  process.exit(exitCode);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => stop(signal === 'SIGHUP' ? 'SIGTERM' : signal));
}

const proxy = start('proxy', [
  join(ROOT, 'proxy/dist/main.js'),
  '--socket-dir',
  socketDir,
  '--host',
  host,
  '--port',
  port,
]);
start('workers', [
  join(ROOT, 'worker-runtime/dist/main.js'),
  APP,
  '--socket-dir',
  socketDir,
  '--processes',
  workers,
]);
say(
  `gatewire on http://${host}:${port}/ (proxy pid ${proxy.pid}; ${workers} workers of examples/hello/app.ts in ${socketDir}); Ctrl-C stops`,
);
