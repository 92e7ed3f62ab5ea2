/** Medians and ranges of per-round values. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Ratios a/b of the rounds both sides ran (round i of a against round i of b: they ran back to
 * back, so machine drift mostly cancels), or null when either side has no runs.
 */
export function roundRatios(a: readonly number[], b: readonly number[]): Spread | null {
  const count = Math.min(a.length, b.length);
  if (count === 0) return null;
  const ratios: number[] = [];
  for (let i = 0; i < count; i++) ratios.push(a[i] / b[i]);
  return spread(ratios);
}
