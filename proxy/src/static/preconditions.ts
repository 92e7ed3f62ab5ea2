import type { HeaderPairs } from '@gatewire/protocol';
import { parseEntityTag, parseEntityTagList, strongMatch, weakMatch } from './entity-tag.js';
import type { FileValidators } from './file-etag.js';
import { fieldValue } from './header-fields.js';
import { parseHttpDate } from './http-date.js';

/** The outcome of evaluating a GET or HEAD's preconditions. */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order of
 * RFC 9110 §13.2.2 for a GET or HEAD of an existing file (If-Range is `rangeStillValid`, step 5).
 * If-None-Match takes precedence over If-Modified-Since: the latter is not even looked at when the
 * former is present.
 */
export function evaluatePreconditions(
  headers: HeaderPairs,
  validators: FileValidators,
  nowSeconds: number,
): PreconditionOutcome {
  const current = { weak: false, opaque: validators.etag };

  // Step 1 (§13.1.1): strong comparison; '*' is true because the file exists. A malformed value
  // matches nothing, so it fails: the client asked for a guarantee we cannot give.
  const ifMatch = fieldValue(headers, 'if-match');
  if (ifMatch !== null) {
    const tags = parseEntityTagList(ifMatch);
    if (tags !== '*' && !(tags ?? []).some((tag) => strongMatch(tag, current))) return 'precondition-failed';
  } else {
    // Step 2 (§13.1.4), only without If-Match; an invalid date (a list of dates included) is ignored.
    const ifUnmodifiedSince = fieldValue(headers, 'if-unmodified-since');
    const date = ifUnmodifiedSince === null ? null : parseHttpDate(ifUnmodifiedSince, nowSeconds);
    if (date !== null && validators.lastModified > date) return 'precondition-failed';
  }

  // Step 3 (§13.1.2): weak comparison; for GET and HEAD a false condition is 304. A malformed value
  // matches nothing, so the full response is sent, which is always safe.
  const ifNoneMatch = fieldValue(headers, 'if-none-match');
  if (ifNoneMatch !== null) {
    const tags = parseEntityTagList(ifNoneMatch);
    if (tags === '*' || (tags ?? []).some((tag) => weakMatch(tag, current))) return 'not-modified';
    return 'proceed';
  }

  // Step 4 (§13.1.3): an invalid date, or one later than our clock, is ignored.
  const ifModifiedSince = fieldValue(headers, 'if-modified-since');
  const date = ifModifiedSince === null ? null : parseHttpDate(ifModifiedSince, nowSeconds);
  if (date !== null && date <= nowSeconds && validators.lastModified <= date) return 'not-modified';
  return 'proceed';
}

/**
 * RFC 9110 §13.1.5: whether the Range of a request with this If-Range value still applies. An
 * entity-tag must match strongly (a weak tag never does); a date must equal Last-Modified exactly,
 * and only when Last-Modified is a strong validator. Anything else means "send the whole file".
 */
export function rangeStillValid(ifRange: string, validators: FileValidators): boolean {
  const tag = parseEntityTag(ifRange);
  if (tag !== null) return strongMatch(tag, { weak: false, opaque: validators.etag });
  const date = parseHttpDate(ifRange);
  return date !== null && validators.lastModifiedStrong && date === validators.lastModified;
}
