/**
 * The hostile-input corpus (cases.ts) against the real proxy with a recording worker behind it:
 * each case's statuses and connection close, the refusal's code in the proxy's log, and what the
 * worker received (the canary of a smuggling shape never; the body of an accepted request exactly).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_PREFIX, CASES } from './cases.js';
import { HostileStack } from './hostile-stack.js';

describe('hostile input, end to end', () => {
  let stack: HostileStack;
  beforeAll(async () => {
    stack = await HostileStack.start({ config: { http: { lingerMs: 200 } } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('holds at least 60 cases, with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const hostile of CASES) {
    it(hostile.name, async () => {
      const before = (await stack.seen()).length;
      const linesBefore = stack.proxy.lines.length;
      const result = await stack.exchange(hostile.send, { gapMs: 50 });
      expect(result.statuses, result.text.slice(0, 300)).toEqual(hostile.statuses);
      expect(result.closed).toBe(hostile.closes);
      if (hostile.responseIncludes !== undefined)
        expect(result.text.toLowerCase()).toContain(hostile.responseIncludes.toLowerCase());
      const arrived = (await stack.seen()).slice(before);
      expect(arrived.map((request) => request.target)).toEqual(hostile.reaches ?? []);
      if (hostile.host !== undefined) expect(arrived[0].host).toBe(hostile.host);
      if (hostile.bodyLength !== undefined) expect(arrived[0].bodyLength).toBe(hostile.bodyLength);
      if (hostile.code !== undefined) {
        // A refused head is logged as `request rejected` with its code; a refused body in the
        // access line (or the upstream failure) of the request it belonged to.
        await expect
          .poll(() => stack.proxy.lines.slice(linesBefore).map((line) => JSON.stringify(line)))
          .toContainEqual(expect.stringContaining(hostile.code));
      }
    });
  }

  it('no canary ever reached the worker, and the proxy is still serving', async () => {
    const seen = await stack.seen();
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.filter((request) => request.target.startsWith(CANARY_PREFIX))).toEqual([]);
    const result = await stack.exchange(`GET /still-here HTTP/1.1\r\nHost: hostile.test\r\n\r\n`);
    expect(result.statuses).toEqual([200]);
  });
});
