import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { validateConfig } from '../../../../proxy/src/config/config-validation.js';
import type { HostLookup } from '../../../../proxy/src/upstream/dns-discovery.js';
import { GatewireProxy } from '../../../../proxy/src/proxy-server.js';
import { FakeExchange, type FakeRequest } from './fake-exchange.js';

/** Collects pino's JSON lines. */
export class LogCapture extends Writable {
  readonly entries: Array<Record<string, unknown>> = [];

  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() !== '') this.entries.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }

  find(message: string): Array<Record<string, unknown>> {
    return this.entries.filter((entry) => entry.msg === message);
  }
}

export interface TestProxy {
  readonly proxy: GatewireProxy;
  readonly logs: LogCapture;
  readonly logger: Logger;
  /** Dispatches a fake exchange and returns it (await `.done`). */
  request(request?: FakeRequest): FakeExchange;
  /** Waits (bounded) until `count` workers of the group are connected and ready. */
  waitForReady(group: string, count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Builds a GatewireProxy from a raw config (validated like the real one) and starts discovery. */
export function startTestProxy(rawConfig: Record<string, unknown>, lookup?: HostLookup): TestProxy {
  const config = validateConfig({ log: { level: 'debug' }, ...rawConfig }, 'test config');
  const logs = new LogCapture();
  const logger = pino({ level: 'debug' }, logs);
  const proxy = new GatewireProxy(config, { logger, lookup });
  proxy.start();
  return {
    proxy,
    logs,
    logger,
    request(request = {}) {
      const exchange = new FakeExchange(request);
      proxy.dispatcher.dispatch(exchange);
      return exchange;
    },
    async waitForReady(groupName, count, timeoutMs = 10_000) {
      const group = proxy.group(groupName)!;
      await waitFor(
        () => group.endpoints.filter((endpoint) => endpoint.ready).length >= count,
        timeoutMs,
        () =>
          `${count} ready workers in ${groupName} (have ${group.endpoints.map((e) => `${e.label}:${e.ready}`).join(', ')})`,
      );
    },
    async close() {
      proxy.destroy();
    },
  };
}

/** Polls `condition` every 10 ms until it holds, or throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 10_000,
  what: () => string = () => 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A fresh temp directory, removed by the returned function. */
export function tempDir(prefix = 'gatewire-proxy-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
