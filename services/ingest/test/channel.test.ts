import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChannelGrouper, DEFAULT_CHANNELS, grouperOptions, loadChannelConfig } from '../src/channel.js';

const defaults = new ChannelGrouper();
const channel = (input: Parameters<ChannelGrouper['derive']>[0], g = defaults) => g.derive(input).channel;
const site = 'https://shop.example/';

describe('default channel rules', () => {
  it.each([
    [{ interaction: 'click', url: `${site}?gbraid=1` }, 'paid_search'],
    [{ interaction: 'click', url: `${site}?wbraid=1` }, 'paid_search'],
    [{ interaction: 'click', url: `${site}?msclkid=1` }, 'paid_search'],
    [{ interaction: 'click', url: `${site}?ttclid=1` }, 'paid_social'],
    [{ interaction: 'click', clickId: 'abc', clickIdType: 'gclid' as const }, 'paid_search'],
    [{ interaction: 'click', url: `${site}?utm_source=linkedin&utm_medium=cpc` }, 'paid_social'],
    [{ interaction: 'click', url: `${site}?utm_source=facebook&utm_medium=paid` }, 'paid_social'],
    [{ interaction: 'click', url: `${site}?utm_source=google&utm_medium=ppc` }, 'paid_search'],
    [{ interaction: 'click', url: `${site}?utm_source=fb_ads&utm_medium=social` }, 'paid_social'],
    [{ interaction: 'visit', url: `${site}?utm_source=linkedin&utm_medium=social` }, 'organic_social'],
    [{ interaction: 'visit', url: `${site}?utm_source=LinkedIn` }, 'organic_social'],
    [{ interaction: 'visit', url: `${site}?utm_source=google&utm_medium=organic` }, 'organic_search'],
    [{ interaction: 'visit', url: `${site}?utm_source=bing` }, 'organic_search'],
    [{ interaction: 'email_click', url: `${site}?utm_source=newsletter` }, 'email'],
    [{ interaction: 'visit', url: `${site}?utm_source=crm&utm_medium=E-Mail` }, 'email'],
    [{ interaction: 'impression', url: `${site}?utm_source=dsp&utm_medium=cpm` }, 'display'],
    [{ interaction: 'impression', url: `${site}?utm_source=youtube&utm_medium=video` }, 'video'],
    [{ interaction: 'click', url: `${site}?utm_source=partnerx&utm_medium=affiliate` }, 'affiliate'],
    [{ interaction: 'visit', url: `${site}?utm_source=blog&utm_medium=referral` }, 'referral'],
    [{ interaction: 'visit', url: `${site}?utm_source=zoom&utm_medium=webinar` }, 'webinar'],
    [{ interaction: 'visit', url: `${site}?utm_source=dmexco&utm_medium=Trade Fair` }, 'events'],
    [{ interaction: 'call', source: 'callrail', medium: 'phone' }, 'calls'],
    [{ interaction: 'offline', medium: 'print' }, 'offline'],
    [{ interaction: 'meeting' }, 'calls'],
    [{ interaction: 'email_open' }, 'email'],
    [{ interaction: 'webinar' }, 'webinar'],
    [{ interaction: 'event' }, 'events'],
    [{ interaction: 'offline' }, 'offline'],
    [{ interaction: 'visit', referrer: 'https://duckduckgo.com/', url: site }, 'organic_search'],
    [{ interaction: 'visit', referrer: 'https://t.co/xyz', url: site }, 'organic_social'],
    [{ interaction: 'visit', referrer: 'android-app://com.linkedin.android', url: site }, 'referral'],
    [{ interaction: 'visit', referrer: 'https://news.example.org/a', url: site }, 'referral'],
    [{ interaction: 'visit', referrer: 'https://blog.shop.example/post', url: site }, 'direct'],
    [{ interaction: 'visit', url: site }, 'direct'],
  ])('%j → %s', (input, expected) => {
    expect(channel(input)).toBe(expected);
  });

  it('takes UTM tags from context.campaign when the URL has none', () => {
    const f = defaults.derive({ interaction: 'visit', url: site, utm: { source: 'Newsletter', medium: 'Email', name: 'Nov' } });
    expect(f).toMatchObject({ channel: 'email', source: 'newsletter', medium: 'email', campaign: 'Nov' });
  });

  it('normalises values and aliases: one channel whatever the spelling', () => {
    expect(channel({ interaction: 'click', channel: ' Linked In ' })).toBe('linkedin');
    expect(channel({ interaction: 'click', channel: 'Linked-In' })).toBe('linkedin');
    expect(channel({ interaction: 'click', channel: 'AdWords' })).toBe('google_ads');
    expect(channel({ interaction: 'click', channel: 'Trade Fair' })).toBe('events');
    expect(defaults.derive({ interaction: 'click', url: `${site}?utm_source=LinkedIn.com&utm_medium=Paid Social` }).source).toBe('linkedin');
  });
});

describe('unknown values', () => {
  it('are kept as the channel and counted, never dropped', () => {
    const seen: Array<[string, string]> = [];
    const g = new ChannelGrouper({ onUnknown: (field, value) => seen.push([field, value]) });
    const f = g.derive({ interaction: 'visit', url: `${site}?utm_source=Partner-X&utm_medium=Co Branding` });
    expect(f).toMatchObject({ channel: 'partner_x_co_branding', source: 'partner_x', medium: 'co_branding' });
    expect(g.derive({ interaction: 'visit', medium: 'Zine' }).channel).toBe('zine');
    expect(g.derive({ interaction: 'click', channel: 'TikTok Shop' }).channel).toBe('tiktok_shop');
    expect(g.derive({ interaction: 'click', channel: 'Email' }).channel).toBe('email');
    expect(seen).toEqual([
      ['source', 'partner_x'],
      ['medium', 'co_branding'],
      ['medium', 'zine'],
      ['channel', 'tiktok_shop'],
    ]);
  });

  it('are counted every time, also when the grouping is cached', () => {
    let n = 0;
    const g = new ChannelGrouper({ onUnknown: () => n++ });
    for (let i = 0; i < 3; i++) g.derive({ interaction: 'visit', source: 'mystery', medium: 'thing' });
    expect(n).toBe(6);
  });
});

describe('operator rules', () => {
  it('come before the defaults, in order, first match wins', () => {
    const g = new ChannelGrouper({
      rules: [
        { when: { source: 'linkedin', campaign: { matches: '^abm' } }, channel: 'ABM' },
        { when: { source: ['linkedin', 'xing'], medium: { matches: 'cp.' } }, channel: 'social_ads' },
        { when: { referrerHost: 'partner.example' }, channel: 'partners' },
        { when: { clickIdType: 'gclid', campaign: { matches: 'brand' } }, channel: 'brand_search' },
        { when: { interaction: 'meeting' }, channel: 'sales' },
        { when: { medium: { present: false }, source: 'podcast' }, channel: 'audio' },
      ],
    });
    expect(channel({ interaction: 'click', url: `${site}?utm_source=LinkedIn&utm_medium=cpc&utm_campaign=ABM-Q4` }, g)).toBe('abm');
    expect(channel({ interaction: 'click', url: `${site}?utm_source=xing&utm_medium=cpm` }, g)).toBe('social_ads');
    expect(channel({ interaction: 'visit', referrer: 'https://www.de.partner.example/x', url: site }, g)).toBe('partners');
    expect(channel({ interaction: 'visit', referrer: 'https://notpartner.example/x', url: site }, g)).toBe('referral');
    expect(channel({ interaction: 'click', url: `${site}?gclid=1&utm_campaign=Brand-DE` }, g)).toBe('brand_search');
    expect(channel({ interaction: 'click', url: `${site}?gclid=1&utm_campaign=generic` }, g)).toBe('paid_search');
    expect(channel({ interaction: 'meeting' }, g)).toBe('sales');
    expect(channel({ interaction: 'visit', source: 'Podcast' }, g)).toBe('audio');
    expect(channel({ interaction: 'visit', source: 'podcast', medium: 'audio' }, g)).toBe('podcast_audio');
  });

  it('load from a file (a list, or rules and aliases) and name the bad rule when invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const file = join(dir, 'channels.json');
      writeFileSync(file, JSON.stringify({ rules: [{ when: { source: 'crm' }, channel: 'crm_mail' }], aliases: { channel: { 'the fair': 'events' } } }));
      const g = new ChannelGrouper(grouperOptions(loadChannelConfig(file)));
      expect(channel({ interaction: 'visit', source: 'CRM' }, g)).toBe('crm_mail');
      expect(channel({ interaction: 'visit', channel: 'The Fair' }, g)).toBe('events');
      expect(grouperOptions(loadChannelConfig('[{"when":{"medium":"sms"},"channel":"sms"}]')).rules).toHaveLength(1);

      expect(() => loadChannelConfig('[{"when":{"medium":{"matches":"("}},"channel":"x"}]')).toThrow(/0\.when\.medium\.matches: not a regular expression/);
      expect(() => loadChannelConfig('[{"when":{"interaction":"teleport"},"channel":"x"}]')).toThrow(/0\.when\.interaction: "teleport" is not one of/);
      expect(() => loadChannelConfig('[{"when":{"colour":"red"},"channel":"x"}]')).toThrow(/colour/);
      expect(() => loadChannelConfig('[{"when":{},"channel":""}]')).toThrow(/0\.channel: must name a channel/);
      expect(() => loadChannelConfig('[{"when":{}')).toThrow(/not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are reported as known channels, so explicit uses of them are not counted as unknown', () => {
    const seen: string[] = [];
    const g = new ChannelGrouper({ rules: [{ when: { source: 'crm' }, channel: 'crm_mail' }], onUnknown: (_f, v) => seen.push(v) });
    g.derive({ interaction: 'click', channel: 'CRM Mail' });
    for (const c of DEFAULT_CHANNELS) g.derive({ interaction: 'click', channel: c });
    expect(seen).toEqual([]);
  });
});
