/** UTM tags and ad click ids as they arrive on a landing page URL. */
export const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'msclkid', 'fbclid', 'li_fat_id', 'ttclid'] as const;
const UTM = { utm_source: 'source', utm_medium: 'medium', utm_campaign: 'name', utm_content: 'content', utm_term: 'term' } as const;

export interface CampaignParams {
  source?: string;
  medium?: string;
  name?: string;
  content?: string;
  term?: string;
}

export interface Captured {
  campaign: CampaignParams;
  clickId?: { type: (typeof CLICK_IDS)[number]; value: string };
}

/** What a URL's query says about the campaign that brought the visitor; empty when nothing. */
export function captureFromUrl(search: string): Captured {
  const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const campaign: CampaignParams = {};
  for (const [param, field] of Object.entries(UTM)) {
    const v = params.get(param);
    if (v) campaign[field as keyof CampaignParams] = v.slice(0, 512);
  }
  const out: Captured = { campaign };
  for (const type of CLICK_IDS) {
    const value = params.get(type);
    if (value) {
      out.clickId = { type, value: value.slice(0, 512) };
      break;
    }
  }
  return out;
}

export function isEmpty(c: Captured): boolean {
  return !c.clickId && Object.keys(c.campaign).length === 0;
}
