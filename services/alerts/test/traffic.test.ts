import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAFFIC_OPTIONS, TrafficMonitor, type TrafficFindings } from '../src/detectors/traffic.js';
import { H, MIN, T0, touch } from './support/fixtures.js';

const collect = (into: TrafficFindings, f: TrafficFindings) => {
  into.alerts.push(...f.alerts);
  into.flags.push(...f.flags);
};
const empty = (): TrafficFindings => ({ alerts: [], flags: [] });

/** A day of ordinary traffic: a click every `everyMs` from a fresh device and address, each followed by a visit. */
function ordinary(t: TrafficMonitor, from: number, to: number, everyMs: number, campaign = 'brand'): TrafficFindings {
  const found = empty();
  let i = 0;
  for (let ts = from; ts < to; ts += everyMs, i++) {
    const anon = `o-${campaign}-${ts}`;
    const ip = `10.${(i >> 8) & 255}.${i & 255}.0`;
    collect(found, t.observe(touch({ timestamp: ts, anonymousId: anon, ip, campaign }), ts));
    collect(found, t.observe(touch({ timestamp: ts + MIN, anonymousId: anon, ip, campaign, interaction: 'visit' }), ts + MIN));
  }
  return found;
}

describe('fraud: bursts', () => {
  it('flags every click of a burst from one address and alerts once with the evidence', () => {
    const t = new TrafficMonitor();
    const found = empty();
    const ua = 'Mozilla/5.0 (Windows NT 10.0) Chrome/129.0';
    for (let i = 0; i < 25; i++) {
      collect(found, t.observe(touch({ timestamp: T0 + i * 2000, anonymousId: `farm-${i}`, ip: '203.0.113.0', userAgent: ua, campaign: 'spring' }), T0 + i * 2000));
    }
    expect(found.alerts).toHaveLength(1);
    const [a] = found.alerts;
    expect(a).toMatchObject({ type: 'fraud_spike', signal: 'click_burst', severity: 'critical', campaign: 'spring', channel: 'paid_search' });
    expect(a!.flaggedTouchpoints).toBe(20);
    expect(a!.evidence.observed).toBe(20);
    expect(a!.evidence.pValue).toBeLessThan(1e-12);
    expect(a!.summary).toMatch(/20 clicks in 60 s from address 203\.0\.113\.0/);
    // The 20 that made the burst, then the 5 after it while quarantined: each flagged once.
    expect(found.flags).toHaveLength(25);
    expect(new Set(found.flags.map((f) => f.touchpointId)).size).toBe(25);
    expect(found.flags.map((f) => f.identity)).toEqual(Array.from({ length: 25 }, (_, i) => `farm-${i}`));
  });

  it('flags a burst from one device across addresses', () => {
    const t = new TrafficMonitor();
    const found = empty();
    for (let i = 0; i < 12; i++) collect(found, t.observe(touch({ timestamp: T0 + i * 1000, anonymousId: 'dev-1', ip: `192.0.2.${i}` }), T0));
    expect(found.alerts.map((a) => a.signal)).toEqual(['device_burst']);
    expect(found.flags).toHaveLength(12);
  });

  it('leaves ordinary traffic and slow repeat visitors alone', () => {
    const t = new TrafficMonitor();
    const found = ordinary(t, T0 - 6 * H, T0 + 30 * MIN, 20_000);
    // An office behind one address: a colleague clicks every minute, and one person clicks 9 times.
    for (let i = 0; i < 30; i++) collect(found, t.observe(touch({ timestamp: T0 + i * MIN, anonymousId: `office-${i}`, ip: '198.51.100.0' }), T0 + i * MIN));
    for (let i = 0; i < 9; i++) collect(found, t.observe(touch({ timestamp: T0 + i * 5000, anonymousId: 'keen', ip: '198.51.100.0' }), T0 + i * 5000));
    collect(found, t.tick(T0 + 30 * MIN));
    expect(found.alerts).toEqual([]);
    expect(found.flags).toEqual([]);
  });
});

describe('fraud: bots', () => {
  it('flags each bot touch and alerts per campaign and hour', () => {
    const t = new TrafficMonitor();
    const found = empty();
    for (let i = 0; i < 7; i++) collect(found, t.observe(touch({ timestamp: T0 + i * MIN, bot: true, userAgent: 'python-requests/2.31', interaction: i % 2 ? 'visit' : 'click' }), T0 + i * MIN));
    expect(found.flags).toHaveLength(7);
    expect(found.flags[0]!.reason).toMatch(/bot user agent: python-requests/);
    expect(found.alerts.map((a) => [a.signal, a.evidence.observed])).toEqual([['bot_traffic', DEFAULT_TRAFFIC_OPTIONS.bots.alertMin]]);
  });
});

describe('fraud: rate spikes against a learned baseline', () => {
  it('alerts when a campaign gets many times its learned click rate, with a Poisson p-value', () => {
    const t = new TrafficMonitor();
    ordinary(t, T0 - 12 * H, T0, 2 * MIN, 'brand');
    const found = empty();
    // 10 minutes at a click every 5 seconds from fresh devices and addresses: 120 against ~5 expected.
    for (let i = 0; i < 120; i++) collect(found, t.observe(touch({ timestamp: T0 + i * 5000, anonymousId: `s-${i}`, ip: `172.16.${i}.0`, campaign: 'brand' }), T0 + i * 5000));
    collect(found, t.tick(T0 + 10 * MIN));
    const spike = found.alerts.find((a) => a.signal === 'rate_spike' && a.details.dimension === 'campaign');
    expect(spike).toBeDefined();
    expect(spike!.evidence.observed).toBeGreaterThanOrEqual(119);
    expect(spike!.evidence.expected).toBeGreaterThan(3);
    expect(spike!.evidence.expected).toBeLessThan(7);
    expect(spike!.evidence.pValue).toBeLessThan(1e-6);
    expect(spike!.flaggedTouchpoints).toBe(0);
    expect(found.flags).toEqual([]);
    // Reported once per hour.
    expect(t.tick(T0 + 11 * MIN).alerts.filter((a) => a.signal === 'rate_spike' && a.details.dimension === 'campaign')).toEqual([]);
  });

  it('judges a new address range against a floor, but not a new user agent or campaign', () => {
    const t = new TrafficMonitor();
    const found = empty();
    // 40 clicks in 8 minutes from one /24, each from another device and browser: no burst, a spike.
    for (let i = 0; i < 40; i++) {
      collect(found, t.observe(touch({ timestamp: T0 + i * 12_000, anonymousId: `n-${i}`, ip: '192.0.2.0', userAgent: `Agent/${i}`, campaign: 'launch' }), T0 + i * 12_000));
    }
    for (let i = 0; i < 40; i++) collect(found, t.observe(touch({ timestamp: T0 + i * 12_000, anonymousId: `u-${i}`, ip: `10.9.${i}.0`, userAgent: 'NewBrowser/1.0', campaign: 'launch' }), T0));
    collect(found, t.tick(T0 + 8 * MIN));
    expect(found.alerts.map((a) => [a.signal, a.details.dimension])).toEqual([['rate_spike', 'ip']]);
    expect(found.alerts[0]!.evidence.comparedWith).toMatch(/floor of 6 clicks per hour/);
    expect(found.flags).toEqual([]);
  });

  it('does not call a steady busy campaign a spike', () => {
    const t = new TrafficMonitor();
    ordinary(t, T0 - 12 * H, T0 + 10 * MIN, 5000, 'busy');
    expect(t.tick(T0 + 10 * MIN).alerts.filter((a) => a.signal === 'rate_spike')).toEqual([]);
  });
});

describe('fraud: clicks never followed by any activity', () => {
  it('alerts on a campaign whose clicks go nowhere while others do', () => {
    const t = new TrafficMonitor();
    ordinary(t, T0 - 5 * H, T0, MIN, 'good');
    for (let i = 0; i < 80; i++) t.observe(touch({ timestamp: T0 - 90 * MIN + i * 45_000, anonymousId: `ghost-${i}`, ip: `100.64.${i}.0`, campaign: 'ghost' }), T0);
    const found = t.tick(T0);
    const dead = found.alerts.filter((a) => a.signal === 'dead_clicks');
    expect(dead.map((a) => a.campaign)).toEqual(['ghost']);
    expect(dead[0]!.evidence.observed).toBeCloseTo(1, 9);
    expect(dead[0]!.evidence.expected).toBeLessThan(0.1);
  });
});

describe('tracking health: UTM hygiene', () => {
  it('reports one utm_campaign spelled several ways, and tagged links without source or medium', () => {
    const t = new TrafficMonitor();
    const spellings = ['Spring_Sale', 'spring-sale', 'spring sale'];
    for (let i = 0; i < 90; i++) {
      const c = spellings[i % 3]!;
      const url = `https://shop.example/?utm_campaign=${encodeURIComponent(c)}${i % 3 === 2 ? '' : '&utm_source=newsletter&utm_medium=email'}`;
      t.observe(touch({ timestamp: T0 - i * 10_000, url, interaction: 'visit', campaign: c }), T0);
    }
    const found = t.tick(T0);
    const variants = found.alerts.find((a) => a.signal === 'utm_variants');
    expect(variants?.details.variants).toEqual(expect.arrayContaining(spellings));
    expect(variants?.summary).toMatch(/spelled 3 ways/);
    const incomplete = found.alerts.find((a) => a.signal === 'utm_incomplete');
    expect(incomplete?.evidence.observed).toBeCloseTo(1 / 3, 9);
    expect(t.tick(T0 + MIN).alerts).toEqual([]);
  });
});
