/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels. Label sets are capped per metric so that values sent by clients (unknown UTM tags) cannot
 * grow memory or the scrape without bound; past the cap they are counted under `_overflow_`.
 */

type Labels = Record<string, string>;

const MAX_SERIES = 500;
const OVERFLOW = '_overflow_';

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(out: string[]): void;
}

function labelKey(labelNames: readonly string[], labels: Labels | undefined): string {
  if (labelNames.length === 0) return '';
  let key = '';
  for (const n of labelNames) key += `${labels?.[n] ?? ''}\u0000`;
  return key;
}

function renderLabels(labelNames: readonly string[], key: string, extra?: string): string {
  const values = key.split('\u0000');
  const parts = labelNames.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

abstract class Series<T> implements Metric {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected readonly series = new Map<string, T>();

  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: readonly string[],
  ) {}

  protected slot(labels: Labels | undefined, create: () => T): T {
    let key = labelKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= MAX_SERIES) {
        key = this.labelNames.map(() => `${OVERFLOW}\u0000`).join('');
        s = this.series.get(key);
      }
      if (s === undefined) {
        s = create();
        this.series.set(key, s);
      }
    }
    return s;
  }

  abstract render(out: string[]): void;
}

export class Counter extends Series<{ v: number }> {
  readonly type = 'counter' as const;

  inc(labels?: Labels, by = 1): void {
    this.slot(labels, () => ({ v: 0 })).v += by;
  }

  get(labels?: Labels): number {
    return this.series.get(labelKey(this.labelNames, labels))?.v ?? 0;
  }

  render(out: string[]): void {
    for (const [k, s] of this.series) out.push(`${this.name}${renderLabels(this.labelNames, k)} ${fmt(s.v)}`);
  }
}

export class Gauge extends Series<{ v: number }> {
  readonly type = 'gauge' as const;

  set(value: number, labels?: Labels): void {
    this.slot(labels, () => ({ v: 0 })).v = value;
  }

  inc(labels?: Labels, by = 1): void {
    this.slot(labels, () => ({ v: 0 })).v += by;
  }

  get(labels?: Labels): number {
    return this.series.get(labelKey(this.labelNames, labels))?.v ?? 0;
  }

  render(out: string[]): void {
    for (const [k, s] of this.series) out.push(`${this.name}${renderLabels(this.labelNames, k)} ${fmt(s.v)}`);
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Series<HistogramState> {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`histogram ${name}: buckets must increase`);
    }
  }

  observe(value: number, labels?: Labels): void {
    const s = this.slot(labels, () => ({ counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
    // Stored per bucket, not cumulative: one increment per observation.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    if (i < this.buckets.length) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** Observations so far, for tests and health checks. */
  count(labels?: Labels): number {
    return this.series.get(labelKey(this.labelNames, labels))?.count ?? 0;
  }

  render(out: string[]): void {
    for (const [k, s] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(`${this.name}_bucket${renderLabels(this.labelNames, k, `le="${fmt(b)}"`)} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${renderLabels(this.labelNames, k, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${renderLabels(this.labelNames, k)} ${fmt(s.sum)}`);
      out.push(`${this.name}_count${renderLabels(this.labelNames, k)} ${s.count}`);
    }
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets));
  }

  private register<M extends Metric>(m: M): M {
    if (!NAME.test(m.name)) throw new Error(`metric name ${JSON.stringify(m.name)} is not a Prometheus name`);
    const existing = this.metrics.get(m.name);
    if (existing) {
      if (existing.type !== m.type) throw new Error(`metric ${m.name} already registered as a ${existing.type}`);
      return existing as M;
    }
    this.metrics.set(m.name, m);
    return m;
  }

  /** The exposition text: `# HELP`, `# TYPE` and samples of every metric. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`);
      m.render(out);
    }
    return `${out.join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
