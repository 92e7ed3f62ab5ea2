/**
 * HTTP-date (RFC 9110 §5.6.7): formatting as IMF-fixdate, and parsing of all three forms a
 * recipient must accept. Hand-written because Date.parse reads asctime dates in the local time zone
 * and accepts many strings that are not HTTP-dates at all. Times are whole seconds since the epoch.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// Anchored patterns for the three grammars; day names are checked for shape only (a wrong weekday
// is the sender's typo, not a different instant).
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const RFC850_DATE = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const ASCTIME_DATE = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/** IMF-fixdate for `seconds` since the epoch, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function formatHttpDate(seconds: number): string {
  // toUTCString produces exactly the IMF-fixdate layout for years 0000-9999.
  return new Date(seconds * 1000).toUTCString();
}

/** Seconds since the epoch for an HTTP-date in any of its three forms; null if `value` is not one. */
export function parseHttpDate(value: string, nowSeconds: number = Date.now() / 1000): number | null {
  let match = IMF_FIXDATE.exec(value);
  if (match) return toSeconds(+match[3], match[2], +match[1], match[4], match[5], match[6]);
  match = RFC850_DATE.exec(value);
  if (match)
    return toSeconds(fullYear(+match[3], nowSeconds), match[2], +match[1], match[4], match[5], match[6]);
  match = ASCTIME_DATE.exec(value);
  if (match) return toSeconds(+match[6], match[1], +match[2].trim(), match[3], match[4], match[5]);
  return null;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the future is the most
 * recent past year with the same last two digits.
 */
function fullYear(twoDigits: number, nowSeconds: number): number {
  const nowYear = new Date(nowSeconds * 1000).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + twoDigits;
  if (year > nowYear + 50) year -= 100;
  return year;
}

function toSeconds(
  year: number,
  monthName: string,
  day: number,
  h: string,
  m: string,
  s: string,
): number | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const hours = +h;
  const minutes = +m;
  // 60 is a leap second (RFC 5322 allows it); it reads as the first second of the next minute.
  const secs = +s;
  if (month < 0 || day < 1 || hours > 23 || minutes > 59 || secs > 60) return null;
  // setUTCFullYear rather than Date.UTC, which reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // A day that does not exist (31 Feb) rolls over into the next month: such a date is invalid.
  if (date.getUTCDate() !== day) return null;
  return date.getTime() / 1000 + hours * 3600 + minutes * 60 + secs;
}
