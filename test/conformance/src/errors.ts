/** Typed errors of the conformance suite. Match on the class, not on the message. */

/** A check found the worker doing something the SPEC forbids, or not doing what it requires. */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** A check does not apply to this worker (a feature it does not list, a limit too large to test). */
export class CheckSkipped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CheckSkipped';
  }
}

/** The worker command never produced a usable socket. `outputTail` holds its last output lines. */
export class WorkerStartError extends Error {
  readonly outputTail: string;

  constructor(message: string, outputTail: string) {
    super(outputTail ? `${message}\n--- worker output (last lines) ---\n${outputTail}` : message);
    this.name = 'WorkerStartError';
    this.outputTail = outputTail;
  }
}

/** Options that cannot work (unknown check names, a bad timeout). */
export class ConformanceConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceConfigError';
  }
}
