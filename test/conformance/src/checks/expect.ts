import { ErrorCode, type ErrorCodeName, type HeaderPairs } from '@gatewire/protocol';
import type { CheckContext } from '../check-context.js';
import type { RequestSpec } from '../environ-builder.js';
import { CheckFailed } from '../errors.js';
import { codeLabel } from '../frame-names.js';
import type { PeerConnection } from '../peer-connection.js';
import type { StreamResult } from '../peer-stream.js';

/** Fails the check with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export function describeResult(result: StreamResult): string {
  if (!result.head)
    return result.reset ? `RESET ${codeLabel(result.reset.code)} and no RESPONSE` : 'no RESPONSE';
  const body =
    result.body.length <= 80 ? JSON.stringify(result.body.toString('latin1')) : `${result.body.length} bytes`;
  const reset = result.reset ? `, then RESET ${codeLabel(result.reset.code)}` : '';
  return `status ${result.head.status}, body ${body}${reset}`;
}

/** The response must be complete (END_STREAM, no RESET other than NO_ERROR) with this status. */
export function expectStatus(result: StreamResult, status: number, what: string): void {
  if (result.reset && result.reset.code !== ErrorCode.NO_ERROR) {
    throw new CheckFailed(`${what}: expected ${status}, got ${describeResult(result)}`);
  }
  assert(result.head?.status === status, `${what}: expected status ${status}, got ${describeResult(result)}`);
}

export function headerValue(headers: HeaderPairs | undefined, name: string): string | undefined {
  return headers?.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** GET a route on an open connection and wait for the whole answer. */
export async function get(
  conn: PeerConnection,
  target: string,
  spec: Partial<RequestSpec> = {},
): Promise<StreamResult> {
  return conn.request({ target, ...spec }).response(`the answer to GET ${target}`);
}

export async function expectHelloWorld(conn: PeerConnection, what: string): Promise<void> {
  const result = await get(conn, '/hello');
  expectStatus(result, 200, what);
  assert(
    result.body.toString('latin1') === 'Hello, World!',
    `${what}: expected the body "Hello, World!", got ${describeResult(result)}`,
  );
}

/** A fresh connection still completes the handshake and answers GET /hello (SPEC §14.2: one bad connection is not a dead worker). */
export async function expectFreshConnectionWorks(ctx: CheckContext, after: string): Promise<void> {
  let conn: PeerConnection;
  try {
    conn = await ctx.connect();
  } catch (error) {
    throw new CheckFailed(`after ${after}, a new connection failed: ${(error as Error).message}`);
  }
  try {
    await expectHelloWorld(conn, `after ${after}, GET /hello on a new connection`);
  } catch (error) {
    throw new CheckFailed((error as Error).message);
  }
}

/**
 * The worker must answer a connection error with GOAWAY carrying `code`, then close the
 * connection (SPEC §14.2), and keep serving new connections.
 */
export async function expectConnectionError(
  ctx: CheckContext,
  conn: PeerConnection,
  code: ErrorCodeName,
  trigger: string,
): Promise<void> {
  const expected = codeLabel(ErrorCode[code]);
  const goaway = await conn.goawayOrClose(`GOAWAY ${expected} after ${trigger}`);
  if (!goaway) {
    throw new CheckFailed(
      `after ${trigger}, the worker closed the connection without GOAWAY; expected GOAWAY ${expected} (SPEC §14.2)`,
    );
  }
  assert(
    goaway.code === ErrorCode[code],
    `after ${trigger}, expected GOAWAY ${expected}, got GOAWAY ${codeLabel(goaway.code)}${goaway.message ? ` ${JSON.stringify(goaway.message)}` : ''}`,
  );
  await conn.closedByWorker(`the worker to close the connection after its GOAWAY ${expected} (SPEC §14.2)`);
  await expectFreshConnectionWorks(ctx, trigger);
}

/** Asks the app (route contract) `/started?id=` or `/cancelled?id=`: 'yes' or 'no'. */
export async function appFlag(
  conn: PeerConnection,
  route: 'started' | 'cancelled',
  id: string,
): Promise<string> {
  const result = await get(conn, `/${route}?id=${id}`);
  expectStatus(result, 200, `GET /${route}?id=${id}`);
  return result.body.toString('latin1').trim();
}

/** Polls an app flag until it reads 'yes' (bounded by the timeout). */
export async function waitForAppFlag(
  conn: PeerConnection,
  route: 'started' | 'cancelled',
  id: string,
  what: string,
): Promise<void> {
  const deadline = Date.now() + conn.timeoutMs;
  for (;;) {
    if ((await appFlag(conn, route, id)) === 'yes') return;
    if (Date.now() >= deadline) {
      throw new CheckFailed(`${what}: GET /${route}?id=${id} still answers "no" after ${conn.timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let idCounter = 0;

/** A unique id for /wait, /started and /cancelled. */
export function uniqueId(label: string): string {
  idCounter += 1;
  return `${label}-${process.pid}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`;
}
