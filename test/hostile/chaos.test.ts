/**
 * A short run of scripts/chaos.ts (the full ~60 s run is `npm run chaos`, in .ci/run): traffic
 * through the real proxy while worker processes are SIGKILLed, reloaded, scaled and a second
 * supervisor joins and leaves. Every failure must be explained by the kill of the worker that was
 * running the request.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from '../../scripts/chaos.js';

describe('chaos under load (short run)', () => {
  it('accounts for every request: succeeded, or failed because its worker was killed while running it', async () => {
    const report = await runChaos({ seconds: 9, concurrency: 8, eventEveryMs: [500, 900] });
    console.log(formatReport(report));
    expect(report.unexplained).toEqual([]);
    expect(report.requests).toBeGreaterThan(500);
    expect(report.succeeded + report.killedWhileRunning).toBe(report.requests);
    const events = Object.values(report.events).reduce((sum, count) => sum + count, 0);
    expect(events).toBeGreaterThanOrEqual(5);
  }, 90_000);
});
