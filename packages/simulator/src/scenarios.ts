import type { ChannelSpec, Scenario } from './scenario.js';

/**
 * The named scenarios. Effects are extra cumulative conversion hazard per touch; with a baseline
 * hazard h per day, a touch of effect e is worth as much as e / h days of baseline. Magnitudes are
 * set so marketing causes a minority-to-half of the conversions, as in real accounts where most
 * buyers would have found their way anyway.
 *
 * Population sizes are set by the truth, not by the models: the realised incremental conversions
 * scatter around their expectation by the luck of each unit's conversion draw, and a truth that
 * moves by 0.03 from seed to seed cannot judge a model to 0.05. Each scenario is large enough for
 * that scatter (TVD between realised and expected true shares) to be about 0.015.
 */

const directVisit = (reach: number, perWeek: number): ChannelSpec => ({
  name: 'direct',
  interaction: 'visit',
  campaigns: ['(none)'],
  direct: true,
  reach,
  touchesPerWeek: perWeek,
  effect: 0,
  costPerDay: 0,
});

/**
 * B2C online shop: paid search converts fast, social and display slowly and with wear-out,
 * affiliates are small but sharp, direct visits are people who already know the shop and cause
 * nothing.
 */
const b2c: Scenario = {
  name: 'b2c',
  description: 'B2C shop: paid search, paid social, display, email, organic search, affiliates and direct visits; one purchase per person',
  unit: 'person',
  units: 300_000,
  horizonDays: 60,
  lookbackDays: 30,
  startDate: '2026-03-02',
  baselineHazard: 0.0005,
  frailtySigma: 0.8,
  conversion: { name: 'purchase', medianValue: 70, valueSigma: 0.7, currency: 'EUR' },
  channels: [
    { name: 'google_ads', interaction: 'click', campaigns: ['brand', 'generic', 'shopping'], utm: { source: 'google', medium: 'cpc', clickId: 'gclid' }, reach: 0.3, touchesPerWeek: 0.15, effect: 0.012, saturation: 0.8, spreadDays: 3, costPerDay: 900 },
    { name: 'facebook', interaction: 'click', campaigns: ['prospecting', 'retargeting'], utm: { source: 'facebook', medium: 'paid_social', clickId: 'fbclid' }, reach: 0.35, touchesPerWeek: 0.2, effect: 0.006, saturation: 0.8, delayDays: 1, spreadDays: 10, costPerDay: 600 },
    { name: 'display', interaction: 'impression', campaigns: ['awareness', 'retargeting'], utm: { source: 'dv360', medium: 'display' }, reach: 0.55, touchesPerWeek: 2, effect: 0.0006, saturation: 0.93, spreadDays: 14, costPerDay: 500 },
    { name: 'email', interaction: 'email_click', campaigns: ['newsletter', 'abandoned_cart'], byUserId: true, reach: 0.25, touchesPerWeek: 0.3, effect: 0.004, saturation: 0.85, spreadDays: 5, costPerDay: 50 },
    { name: 'organic_search', interaction: 'visit', campaigns: ['(none)'], utm: { source: 'google', medium: 'organic' }, reach: 0.3, touchesPerWeek: 0.2, effect: 0.003, spreadDays: 3, costPerDay: 0 },
    { name: 'affiliate', interaction: 'click', campaigns: ['cashback', 'vouchers'], utm: { source: 'awin', medium: 'affiliate' }, reach: 0.08, touchesPerWeek: 0.2, effect: 0.015, spreadDays: 2, costPerDay: 150 },
    directVisit(0.25, 0.25),
  ],
  synergies: [],
};

/** Fairs every two months or so: any 120-day window holds two of them, converting or not. */
const FAIR_DAYS = [-100, -40, 30, 95, 150];
/** A webinar every two weeks over the whole simulated period (lookback included). */
const WEBINAR_DAYS = Array.from({ length: 22 }, (_, i) => -117 + i * 14);

/**
 * B2B software with a long cycle: accounts are buying groups of 3–10 people, each reached on
 * their own; the deal is the account's. Trade fairs are rare and strong and act weeks later;
 * sales calls follow up; LinkedIn builds the case slowly; email and direct visits mostly ride
 * along.
 */
const b2b: Scenario = {
  name: 'b2b',
  description: 'B2B long cycle: buying groups of 3–10 under an account, LinkedIn, paid search, email, webinars, trade fairs and sales calls; deals per account',
  unit: 'account',
  units: 50_000,
  groupSize: [3, 10],
  horizonDays: 180,
  lookbackDays: 120,
  startDate: '2026-01-05',
  baselineHazard: 0.0003,
  frailtySigma: 0.7,
  conversion: { name: 'deal', stage: 'closed_won', medianValue: 18_000, valueSigma: 0.6, currency: 'EUR' },
  channels: [
    { name: 'linkedin', interaction: 'click', campaigns: ['abm', 'thought_leadership'], utm: { source: 'linkedin', medium: 'paid_social', clickId: 'li_fat_id' }, reach: 0.3, touchesPerWeek: 0.1, effect: 0.004, saturation: 0.85, delayDays: 14, spreadDays: 40, costPerDay: 700 },
    { name: 'google_ads', interaction: 'click', campaigns: ['generic', 'competitor'], utm: { source: 'google', medium: 'cpc', clickId: 'gclid' }, reach: 0.15, touchesPerWeek: 0.08, effect: 0.005, saturation: 0.85, delayDays: 7, spreadDays: 21, costPerDay: 500 },
    { name: 'email', interaction: 'email_click', campaigns: ['nurture', 'product_news'], byUserId: true, reach: 0.5, touchesPerWeek: 0.15, effect: 0.0008, saturation: 0.9, delayDays: 7, spreadDays: 30, costPerDay: 30 },
    { name: 'webinar', interaction: 'webinar', campaigns: ['product_tour', 'customer_panel'], byUserId: true, reach: 0.015, eventDays: WEBINAR_DAYS, effect: 0.01, delayDays: 14, spreadDays: 30, costPerDay: 100 },
    { name: 'events', interaction: 'event', campaigns: ['trade_fair'], byUserId: true, reach: 0.04, eventDays: FAIR_DAYS, effect: 0.03, delayDays: 28, spreadDays: 42, costPerDay: 1_500 },
    { name: 'calls', interaction: 'call', campaigns: ['sdr_outbound'], byUserId: true, reach: 0.12, touchesPerWeek: 0.08, effect: 0.005, saturation: 0.8, delayDays: 3, spreadDays: 21, costPerDay: 400 },
    { name: 'organic_search', interaction: 'visit', campaigns: ['(none)'], utm: { source: 'google', medium: 'organic' }, reach: 0.3, touchesPerWeek: 0.1, effect: 0.0005, spreadDays: 14, costPerDay: 0 },
    directVisit(0.3, 0.15),
  ],
  synergies: [],
};

/**
 * Synergy: LinkedIn alone does little, but it makes the Google Ads clicks that follow it (within
 * 60 days) three and a half times as effective — people search for what they saw. Display helps
 * paid search a little too.
 */
const synergy: Scenario = {
  name: 'synergy',
  description: 'LinkedIn raises the effect of later Google Ads clicks 3.5× (60 days); display raises it 1.5×',
  unit: 'person',
  units: 250_000,
  horizonDays: 60,
  lookbackDays: 45,
  startDate: '2026-03-02',
  baselineHazard: 0.0005,
  frailtySigma: 0.8,
  conversion: { name: 'purchase', medianValue: 120, valueSigma: 0.6, currency: 'EUR' },
  channels: [
    { name: 'linkedin', interaction: 'click', campaigns: ['sponsored_content'], utm: { source: 'linkedin', medium: 'paid_social', clickId: 'li_fat_id' }, reach: 0.35, touchesPerWeek: 0.15, effect: 0.002, saturation: 0.85, delayDays: 2, spreadDays: 14, costPerDay: 800 },
    { name: 'google_ads', interaction: 'click', campaigns: ['generic', 'brand'], utm: { source: 'google', medium: 'cpc', clickId: 'gclid' }, reach: 0.35, touchesPerWeek: 0.15, effect: 0.006, saturation: 0.85, spreadDays: 3, costPerDay: 900 },
    { name: 'display', interaction: 'impression', campaigns: ['awareness'], utm: { source: 'dv360', medium: 'display' }, reach: 0.4, touchesPerWeek: 1, effect: 0.0004, saturation: 0.9, spreadDays: 10, costPerDay: 300 },
    { name: 'email', interaction: 'email_click', campaigns: ['newsletter'], byUserId: true, reach: 0.25, touchesPerWeek: 0.2, effect: 0.003, saturation: 0.85, spreadDays: 5, costPerDay: 50 },
    { name: 'organic_search', interaction: 'visit', campaigns: ['(none)'], utm: { source: 'google', medium: 'organic' }, reach: 0.3, touchesPerWeek: 0.15, effect: 0.002, spreadDays: 3, costPerDay: 0 },
    directVisit(0.25, 0.2),
  ],
  synergies: [
    { from: 'linkedin', to: 'google_ads', boost: 2.5, windowDays: 60 },
    { from: 'display', to: 'google_ads', boost: 0.5, windowDays: 30 },
  ],
};

/**
 * Display-heavy: most people see dozens of banner and video impressions, each worth very little
 * and wearing out fast, so impressions crowd every path — the setting where counting touches
 * misleads most.
 */
const display: Scenario = {
  name: 'display',
  description: 'Display-heavy: most people see dozens of low-value, fast-wearing impressions beside a few clicks',
  unit: 'person',
  units: 240_000,
  horizonDays: 60,
  lookbackDays: 30,
  startDate: '2026-03-02',
  baselineHazard: 0.0005,
  frailtySigma: 0.8,
  conversion: { name: 'purchase', medianValue: 60, valueSigma: 0.7, currency: 'EUR' },
  channels: [
    { name: 'display', interaction: 'impression', campaigns: ['awareness', 'retargeting', 'programmatic'], utm: { source: 'dv360', medium: 'display' }, reach: 0.8, touchesPerWeek: 5, effect: 0.0004, saturation: 0.95, spreadDays: 10, costPerDay: 1_200 },
    { name: 'video', interaction: 'impression', campaigns: ['preroll'], utm: { source: 'youtube', medium: 'video' }, reach: 0.4, touchesPerWeek: 2, effect: 0.001, saturation: 0.9, delayDays: 5, spreadDays: 20, costPerDay: 700 },
    { name: 'google_ads', interaction: 'click', campaigns: ['generic', 'brand'], utm: { source: 'google', medium: 'cpc', clickId: 'gclid' }, reach: 0.25, touchesPerWeek: 0.15, effect: 0.012, saturation: 0.8, spreadDays: 3, costPerDay: 800 },
    { name: 'facebook', interaction: 'click', campaigns: ['prospecting'], utm: { source: 'facebook', medium: 'paid_social', clickId: 'fbclid' }, reach: 0.3, touchesPerWeek: 0.15, effect: 0.006, saturation: 0.8, delayDays: 1, spreadDays: 10, costPerDay: 500 },
    { name: 'email', interaction: 'email_click', campaigns: ['newsletter'], byUserId: true, reach: 0.2, touchesPerWeek: 0.3, effect: 0.004, saturation: 0.85, spreadDays: 5, costPerDay: 50 },
    directVisit(0.25, 0.25),
  ],
  synergies: [],
};

export const SCENARIOS: Readonly<Record<string, Scenario>> = { b2c, b2b, synergy, display };

export const SCENARIO_NAMES = Object.keys(SCENARIOS);

export const DEFAULT_SCENARIO = 'b2c';

/** A named scenario (a fresh copy: callers may change it), or undefined. */
export function getScenario(name: string): Scenario | undefined {
  const s = SCENARIOS[name];
  return s ? structuredClone(s) : undefined;
}
