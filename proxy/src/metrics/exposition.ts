import { LATENCY_BUCKETS_SECONDS, type LatencyHistogram } from './latency-histogram.js';

export type Labels = Readonly<Record<string, string | number>>;

/** A label value escaped for the text format (backslash, double quote, newline). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: string): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(String(value))}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Prometheus text exposition format 0.0.4, written from plain numbers at scrape time: one
 * `# HELP`/`# TYPE` header per family, then its samples.
 */
export class Exposition {
  #text = '';

  /** Starts a family; samples of it follow. */
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.#text += `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.#text += `${name}${labelText(labels)} ${number(value)}\n`;
    return this;
  }

  /** The `_bucket`, `_sum` and `_count` samples of one histogram series. */
  histogram(name: string, labels: Labels, histogram: LatencyHistogram): this {
    const cumulative = histogram.cumulative();
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
      this.#text += `${name}_bucket${labelText(labels, `le="${LATENCY_BUCKETS_SECONDS[i]}"`)} ${cumulative[i]}\n`;
    }
    this.#text += `${name}_bucket${labelText(labels, 'le="+Inf"')} ${histogram.count}\n`;
    this.#text += `${name}_sum${labelText(labels)} ${number(histogram.sumSeconds)}\n`;
    this.#text += `${name}_count${labelText(labels)} ${histogram.count}\n`;
    return this;
  }

  /** Text produced elsewhere (prom-client's registry), appended as is. */
  append(text: string): this {
    this.#text += text.endsWith('\n') || text === '' ? text : `${text}\n`;
    return this;
  }

  toString(): string {
    return this.#text;
  }
}
