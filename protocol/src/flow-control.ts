import { Limits } from './constants.js';
import { ProtocolError } from './errors.js';

/**
 * Credit this side may still spend on DATA for one stream (SPEC §9). Starts at the peer's
 * initial_window; DATA spends it, the peer's WINDOW frames add to it.
 */
export class SendWindow {
  available: number;

  constructor(initial: number) {
    this.available = initial;
  }

  spend(bytes: number): void {
    this.available -= bytes;
  }

  /** Applies a WINDOW increment from the peer; throws FLOW_CONTROL_ERROR on 0 or overflow. */
  grant(increment: number, streamId: number): void {
    if (increment < 1 || increment > Limits.MAX_WINDOW) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `WINDOW increment ${increment} on stream ${streamId} is not in 1…${Limits.MAX_WINDOW}`,
      );
    }
    const next = this.available + increment;
    if (next > Limits.MAX_WINDOW) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `WINDOW on stream ${streamId} would raise the window to ${next}, above ${Limits.MAX_WINDOW}`,
      );
    }
    this.available = next;
  }
}

/**
 * Credit this side has granted the peer for one stream (SPEC §9). Counts DATA as it arrives and
 * as the application consumes it, and says when to send WINDOW: once the consumed-but-not-granted
 * bytes reach half the initial window.
 */
export class ReceiveWindow {
  readonly initial: number;
  /** Bytes the peer may still send. */
  remaining: number;
  /** Bytes consumed by the application and not yet granted back. */
  #consumed = 0;

  constructor(initial: number) {
    this.initial = initial;
    this.remaining = initial;
  }

  /** Accounts for arriving DATA; throws FLOW_CONTROL_ERROR when the peer overspends. */
  receive(bytes: number, streamId: number): void {
    this.remaining -= bytes;
    if (this.remaining < 0) {
      throw new ProtocolError(
        'FLOW_CONTROL_ERROR',
        `peer sent ${-this.remaining} bytes of DATA beyond the window on stream ${streamId}`,
      );
    }
  }

  /** Accounts for bytes the application consumed; returns the WINDOW increment to send now, or 0. */
  consume(bytes: number): number {
    this.#consumed += bytes;
    if (this.#consumed < this.initial >>> 1) return 0;
    const increment = this.#consumed;
    this.#consumed = 0;
    this.remaining += increment;
    return increment;
  }
}
