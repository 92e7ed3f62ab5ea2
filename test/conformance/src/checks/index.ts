import type { Check } from '../check.js';
import { authChecks } from './auth.js';
import { cancellationChecks } from './cancellation.js';
import { concurrencyChecks } from './concurrency.js';
import { drainingChecks } from './draining.js';
import { environChecks } from './environ.js';
import { flowControlChecks } from './flow-control.js';
import { handshakeChecks } from './handshake.js';
import { largeBodyChecks } from './large-bodies.js';
import { livenessChecks } from './liveness.js';
import { malformedChecks } from './malformed.js';
import { queueChecks } from './queue.js';
import { requestChecks } from './requests.js';
import { streamStateChecks } from './stream-states.js';
import { trailerChecks } from './trailers.js';
import { upgradeChecks } from './upgrade.js';
import { vectorErrorChecks } from './vectors-errors.js';
import { vectorFrameChecks } from './vectors-frames.js';
import { vectorSequenceChecks } from './vectors-sequences.js';

/** Every check, in the order they run. Names are stable: skip lists refer to them. */
export const ALL_CHECKS: readonly Check[] = Object.freeze([
  ...handshakeChecks,
  ...authChecks,
  ...requestChecks,
  ...environChecks,
  ...concurrencyChecks,
  ...queueChecks,
  ...flowControlChecks,
  ...largeBodyChecks,
  ...streamStateChecks,
  ...cancellationChecks,
  ...livenessChecks,
  ...trailerChecks,
  ...upgradeChecks,
  ...malformedChecks,
  ...vectorFrameChecks,
  ...vectorErrorChecks,
  ...vectorSequenceChecks,
  ...drainingChecks,
]);
