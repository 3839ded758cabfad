import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../src/metrics.js';

describe('the metrics registry', () => {
  it('renders counters, gauges and cumulative histogram buckets in the Prometheus text format', () => {
    const r = new MetricsRegistry();
    const c = r.counter('t_events_total', 'Events.', ['type']);
    const g = r.gauge('t_in_flight', 'In flight.');
    const h = r.histogram('t_seconds', 'Latency.', [0.25, 0.5, 1]);
    c.inc({ type: 'touch' }, 3);
    c.inc({ type: 'a "quoted"\\ \nvalue' });
    g.set(7);
    for (const v of [0.125, 0.25, 0.375, 0.75, 4]) h.observe(v);
    expect(r.render()).toBe(
      [
        '# HELP t_events_total Events.',
        '# TYPE t_events_total counter',
        't_events_total{type="touch"} 3',
        't_events_total{type="a \\"quoted\\"\\\\ \\nvalue"} 1',
        '# HELP t_in_flight In flight.',
        '# TYPE t_in_flight gauge',
        't_in_flight 7',
        '# HELP t_seconds Latency.',
        '# TYPE t_seconds histogram',
        't_seconds_bucket{le="0.25"} 2',
        't_seconds_bucket{le="0.5"} 3',
        't_seconds_bucket{le="1"} 4',
        't_seconds_bucket{le="+Inf"} 5',
        't_seconds_sum 5.5',
        't_seconds_count 5',
        '',
      ].join('\n'),
    );
  });

  it('caps the label sets a metric keeps, counting the rest together', () => {
    const r = new MetricsRegistry();
    const c = r.counter('t_unknown_total', 'Unknown values.', ['value']);
    for (let i = 0; i < 2_000; i++) c.inc({ value: `v${i}` });
    const lines = r.render().split('\n').filter((l) => l.startsWith('t_unknown_total'));
    expect(lines).toHaveLength(501);
    expect(lines).toContain('t_unknown_total{value="_overflow_"} 1500');
  });

  it('refuses bad names and a second metric of another type under the same name', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('bad-name', 'x')).toThrow(/not a Prometheus name/);
    r.counter('t_x', 'x');
    expect(r.counter('t_x', 'x')).toBeDefined();
    expect(() => r.gauge('t_x', 'x')).toThrow(/already registered as a counter/);
  });
});
