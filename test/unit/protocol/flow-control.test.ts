import { Limits, ProtocolError, ReceiveWindow, SendWindow } from '@gatewire/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

describe('SendWindow (SPEC §9)', () => {
  it('starts at the peer’s initial_window, spends, and takes grants', () => {
    const window = new SendWindow(1024);
    window.spend(1024);
    expect(window.available).toBe(0);
    window.grant(512, 1);
    expect(window.available).toBe(512);
  });

  it('refuses an increment of 0 and one above 2147483647', () => {
    const window = new SendWindow(1024);
    expect(codeOf(() => window.grant(0, 3))).toBe('FLOW_CONTROL_ERROR');
    expect(codeOf(() => window.grant(Limits.MAX_WINDOW + 1, 3))).toBe('FLOW_CONTROL_ERROR');
    expect(window.available).toBe(1024);
  });

  it('accepts a window of exactly 2147483647 and refuses one byte more, leaving it unchanged', () => {
    const window = new SendWindow(0);
    window.grant(Limits.MAX_WINDOW, 1);
    expect(window.available).toBe(Limits.MAX_WINDOW);
    expect(codeOf(() => window.grant(1, 1))).toBe('FLOW_CONTROL_ERROR');
    expect(window.available).toBe(Limits.MAX_WINDOW);
    window.spend(10);
    window.grant(10, 1);
    expect(window.available).toBe(Limits.MAX_WINDOW);
  });

  it('names the stream in its error', () => {
    expect(() => new SendWindow(1).grant(0, 77)).toThrow(/stream 77/);
  });
});

describe('ReceiveWindow (SPEC §9)', () => {
  it('accepts exactly the granted bytes and refuses one more', () => {
    const window = new ReceiveWindow(1024);
    window.receive(1000, 1);
    window.receive(24, 1);
    expect(window.remaining).toBe(0);
    expect(codeOf(() => window.receive(1, 1))).toBe('FLOW_CONTROL_ERROR');
  });

  it('an empty DATA frame is always within the window', () => {
    const window = new ReceiveWindow(1024);
    window.receive(1024, 1);
    window.receive(0, 1);
    expect(window.remaining).toBe(0);
  });

  it('grants credit back once half the initial window is consumed, not before', () => {
    const window = new ReceiveWindow(1025);
    window.receive(1025, 1);
    expect(window.consume(511)).toBe(0);
    expect(window.consume(1)).toBe(512);
    expect(window.remaining).toBe(512);
    expect(window.consume(400)).toBe(0);
    expect(window.consume(113)).toBe(513);
    expect(window.remaining).toBe(1025);
  });

  it('never lets the sender’s view exceed the initial window when the application consumes what arrived', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Limits.MIN_INITIAL_WINDOW, max: 1 << 20 }),
        fc.array(fc.nat(1 << 20), { maxLength: 50 }),
        (initial, sizes) => {
          const receiver = new ReceiveWindow(initial);
          const sender = new SendWindow(initial);
          for (const size of sizes) {
            const n = Math.min(size, sender.available);
            sender.spend(n);
            receiver.receive(n, 1); // a sender that respects its window never overruns the receiver
            const increment = receiver.consume(n);
            if (increment > 0) sender.grant(increment, 1);
            expect(sender.available).toBe(receiver.remaining);
            expect(receiver.remaining).toBeLessThanOrEqual(initial);
            expect(receiver.remaining).toBeGreaterThan(initial >>> 1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
