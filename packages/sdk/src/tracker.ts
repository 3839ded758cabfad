import { captureFromUrl, isEmpty, type Captured } from './capture.js';
import { detectBrowser, guarded, MemoryStorage, randomId, type BrowserEnv, type StorageLike } from './env.js';
import { Transport, type DeliveryProblem, type FetchLike, type WireEvent } from './transport.js';

export const SDK_VERSION = '0.1.0';

export type Interaction = 'impression' | 'click' | 'visit' | 'email_open' | 'email_click' | 'social' | 'webinar' | 'event' | 'call' | 'meeting' | 'offline';

export interface Consent {
  /** false: events are stored flagged and never attributed (or not sent at all, see `onDenied`). */
  attribution?: boolean;
  analytics?: boolean;
  marketing?: boolean;
}

export interface TrackerOptions {
  /** A write key of the Touchline instance. In a browser it is public: write keys can only send events. */
  writeKey: string;
  /** Base URL of Touchline, e.g. https://touchline.example.com */
  endpoint: string;
  /** Events per request (at most 1000). Default 20 in browsers, 500 elsewhere. */
  flushAt?: number;
  /** Longest an event waits in the queue. Default 5 s in browsers, 10 s elsewhere. */
  flushIntervalMs?: number;
  /** Events kept while Touchline is unreachable; the oldest go beyond it. Default 10 000. */
  maxQueue?: number;
  /** Attempts per batch before it is given up. Default 10. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`, with jitter. Defaults 1 s and 60 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * The consent gate. With `requireConsent`, nothing is sent and no id is stored until
   * `setConsent` is called; events meanwhile wait in memory.
   */
  requireConsent?: boolean;
  /** Consent known at start (e.g. from the site's consent manager). */
  consent?: Consent;
  /** Without attribution consent: 'drop' events (default) or 'flag' them (stored, never attributed). */
  onDenied?: 'drop' | 'flag';
  /** Browsers: record a touch for a page view that starts a visit or carries campaign tags. Default true. */
  autoTrack?: boolean;
  /** Browsers: also keep the anonymous id in a first-party cookie (for subdomains, server-side reads). */
  cookieDomain?: string;
  /** Called with events Touchline refused or that could not be delivered. */
  onProblem?: (p: DeliveryProblem) => void;
  // Injection points (tests, unusual runtimes).
  fetch?: FetchLike;
  browser?: BrowserEnv | null;
  storage?: StorageLike;
  now?: () => number;
  random?: () => number;
  newId?: () => string;
}

/** Fields every event method takes besides its own. */
export interface Common {
  /** Servers: the person the event is about (browsers use the tracker's ids). */
  anonymousId?: string;
  userId?: string;
  /** When it happened; default now. */
  timestamp?: Date | string | number;
  properties?: Record<string, unknown>;
}

export interface TouchFields extends Common {
  channel?: string;
  source?: string;
  medium?: string;
  campaign?: string;
  content?: string;
  term?: string;
  url?: string;
  referrer?: string;
  cost?: number;
}

export interface ConversionFields extends Common {
  conversionId: string;
  name: string;
  value?: number;
  currency?: string;
  stage?: 'lead' | 'opportunity' | 'closed_won';
}

export interface Traits {
  email?: string;
  phone?: string;
  accountId?: string;
  [trait: string]: unknown;
}

const KEYS = { anonymousId: 'tl_aid', userId: 'tl_uid', session: 'tl_session' } as const;
const YEAR_S = 365 * 24 * 3600;

type Gate = 'pending' | 'granted' | 'denied';

/**
 * The Touchline tracker: builds events, queues and batches them, and delivers them with retries;
 * in browsers it also keeps a first-party anonymous id, captures UTM tags and click ids, records
 * the touch of a landing page view, and hands what is queued to sendBeacon when the page is hidden.
 */
export class Tracker {
  private readonly transport: Transport;
  private readonly browser: BrowserEnv | undefined;
  private readonly storage: StorageLike;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly flushAt: number;
  private readonly flushIntervalMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private gate: Gate;
  private consent: Consent | undefined;
  private held: WireEvent[] = [];
  private anon: string;
  private user: string | undefined;
  /** The campaign tags and click id of this page's URL. */
  readonly captured: Captured;

  constructor(private readonly opts: TrackerOptions) {
    if (!opts.writeKey) throw new Error('Touchline tracker: writeKey is required');
    if (!/^https?:\/\//.test(opts.endpoint ?? '')) throw new Error('Touchline tracker: endpoint must be an http(s) URL such as https://touchline.example.com');
    this.browser = opts.browser === null ? undefined : (opts.browser ?? detectBrowser());
    this.storage = opts.storage ?? guarded(this.browser?.localStorage);
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? randomId;
    const inBrowser = this.browser !== undefined;
    this.flushAt = Math.max(1, Math.min(1000, opts.flushAt ?? (inBrowser ? 20 : 500)));
    this.flushIntervalMs = opts.flushIntervalMs ?? (inBrowser ? 5_000 : 10_000);
    this.consent = opts.consent;
    this.gate = opts.consent ? (opts.consent.attribution === false ? 'denied' : 'granted') : opts.requireConsent ? 'pending' : 'granted';
    const fetchImpl = opts.fetch ?? (globalThis.fetch?.bind(globalThis) as unknown as FetchLike | undefined);
    if (!fetchImpl) throw new Error('Touchline tracker: no fetch in this runtime; pass options.fetch');
    const nav = this.browser?.navigator;
    const BlobCtor = this.browser?.Blob;
    this.transport = new Transport({
      endpoint: opts.endpoint,
      writeKey: opts.writeKey,
      auth: inBrowser ? 'query' : 'header',
      fetch: fetchImpl,
      batchSize: this.flushAt,
      maxQueue: opts.maxQueue ?? 10_000,
      maxAttempts: opts.maxAttempts ?? 10,
      initialBackoffMs: opts.initialBackoffMs ?? 1_000,
      maxBackoffMs: opts.maxBackoffMs ?? 60_000,
      random: opts.random ?? Math.random,
      now: this.now,
      onProblem: opts.onProblem ?? (() => undefined),
      beacon: nav?.sendBeacon ? (url, body) => nav.sendBeacon!(url, BlobCtor ? new BlobCtor([body], { type: 'text/plain;charset=UTF-8' }) : body) : undefined,
    });

    // Ids are only written to storage with consent; until then they live in memory.
    this.anon = (this.mayStore() ? this.storage.getItem(KEYS.anonymousId) : null) ?? this.cookieId() ?? this.newId();
    this.user = (this.mayStore() ? this.storage.getItem(KEYS.userId) : null) ?? undefined;
    this.persistIds();

    this.captured = this.browser ? captureFromUrl(this.browser.location.search) : { campaign: {} };
    if (this.browser) {
      const onHide = () => this.beacon();
      this.browser.document.addEventListener('visibilitychange', () => {
        if (this.browser!.document.visibilityState === 'hidden') onHide();
      });
      this.browser.addEventListener('pagehide', onHide);
      if (opts.autoTrack !== false) this.landing();
    }
  }

  get anonymousId(): string {
    return this.anon;
  }

  get userId(): string | undefined {
    return this.user;
  }

  /** Events waiting: held by the consent gate plus queued for delivery. */
  get pending(): number {
    return this.held.length + this.transport.pending;
  }

  /** A page view as a `visit` touch (browsers fill url and referrer). */
  page(fields: TouchFields = {}): void {
    this.touch('visit', { url: this.browser?.location.href, referrer: this.browser?.document.referrer || undefined, ...fields });
  }

  touch(interaction: Interaction, fields: TouchFields = {}): void {
    const { anonymousId, userId, timestamp, properties, ...rest } = fields;
    this.record({ type: 'touch', interaction, ...clean(rest) }, { anonymousId, userId, timestamp, properties });
  }

  conversion(fields: ConversionFields): void {
    const { anonymousId, userId, timestamp, properties, ...rest } = fields;
    this.record({ type: 'conversion', ...clean(rest) }, { anonymousId, userId, timestamp, properties });
  }

  /** Links this visitor to a user id and traits (the email is hashed by Touchline, never stored in clear). */
  identify(userId?: string, traits?: Traits, common: Common = {}): void {
    if (userId && !common.userId) {
      this.user = userId;
      this.persistIds();
    }
    this.record({ type: 'identify', ...(traits ? { traits: clean(traits) } : {}) }, common);
  }

  /** Opens (attribution true), closes (false) or updates the consent gate. */
  setConsent(consent: Consent): void {
    this.consent = { ...this.consent, ...consent };
    this.gate = this.consent.attribution === false ? 'denied' : 'granted';
    const held = this.held;
    this.held = [];
    this.persistIds();
    for (const e of held) this.admit(e);
  }

  /** Logout: a new anonymous id, no user id. */
  reset(): void {
    this.user = undefined;
    this.anon = this.newId();
    this.storage.removeItem(KEYS.userId);
    this.persistIds();
  }

  /** Sends what is queued now; resolves once delivered or waiting for a retry. */
  flush(): Promise<void> {
    this.clearTimer();
    return this.transport.flush();
  }

  /** Flushes and stops the timers (servers, before exit). */
  async shutdown(): Promise<void> {
    await this.flush();
    this.transport.stop();
    this.clearTimer();
  }

  private record(event: Record<string, unknown>, common: Common): void {
    this.submit(this.build(event, common));
  }

  private build(event: Record<string, unknown>, common: Common): WireEvent {
    const ids: Record<string, string> = {};
    const anonymousId = common.anonymousId ?? (common.userId ? undefined : this.anon);
    const userId = common.userId ?? (common.anonymousId ? undefined : this.user);
    if (anonymousId) ids.anonymousId = anonymousId;
    if (userId) ids.userId = userId;
    const at = common.timestamp === undefined ? this.now() : common.timestamp;
    const e: WireEvent = {
      messageId: this.newId(),
      ...event,
      ...ids,
      timestamp: at instanceof Date ? at.toISOString() : typeof at === 'number' ? new Date(at).toISOString() : at,
      context: this.context(),
      ...(common.properties ? { properties: common.properties } : {}),
    };
    return e;
  }

  private submit(e: WireEvent): void {
    if (this.gate === 'pending') {
      this.held.push(e);
      return;
    }
    this.admit(e);
  }

  /** Past the gate: consent stamped at this moment, then queued (or dropped when denied and so configured). */
  private admit(e: WireEvent): void {
    if (this.gate === 'denied' && this.opts.onDenied !== 'flag') return;
    const context = (e.context ?? {}) as Record<string, unknown>;
    if (this.consent) context.consent = { ...this.consent };
    e.context = context;
    this.transport.push(e);
    if (this.transport.pending >= this.flushAt) void this.flush();
    else this.scheduleFlush();
  }

  private context(): Record<string, unknown> {
    const b = this.browser;
    const ctx: Record<string, unknown> = { library: { name: '@touchline/sdk', version: SDK_VERSION } };
    const tz = safeTimeZone();
    if (tz) ctx.timezone = tz;
    if (!b) return ctx;
    ctx.userAgent = b.navigator.userAgent;
    if (b.navigator.language) ctx.locale = b.navigator.language;
    ctx.page = { url: b.location.href, path: b.location.pathname, title: b.document.title, ...(b.document.referrer ? { referrer: b.document.referrer } : {}) };
    return ctx;
  }

  /** The landing touch: a visit that starts a session, arrives from elsewhere, or carries campaign tags. */
  private landing(): void {
    const b = this.browser!;
    const session = guarded(b.sessionStorage);
    const external = referrerHost(b.document.referrer) !== '' && referrerHost(b.document.referrer) !== b.location.hostname.toLowerCase();
    const firstOfSession = session.getItem(KEYS.session) === null;
    session.setItem(KEYS.session, '1');
    if (!firstOfSession && !external && isEmpty(this.captured)) return;
    const click = this.captured.clickId;
    const e = this.build(
      {
        type: 'touch',
        interaction: click ? 'click' : 'visit',
        url: b.location.href,
        ...(b.document.referrer ? { referrer: b.document.referrer } : {}),
        // Explicit beside the URL, so they survive a URL that a redirect or a CMP rewrote.
        ...(click ? { clickId: click.value, clickIdType: click.type } : {}),
      },
      {},
    );
    if (Object.keys(this.captured.campaign).length > 0) (e.context as Record<string, unknown>).campaign = { ...this.captured.campaign };
    this.submit(e);
  }

  private beacon(): void {
    if (this.gate === 'pending') return;
    this.clearTimer();
    this.transport.beaconAll();
  }

  private mayStore(): boolean {
    return this.gate !== 'pending' && this.gate !== 'denied';
  }

  private persistIds(): void {
    if (!this.mayStore()) return;
    this.storage.setItem(KEYS.anonymousId, this.anon);
    if (this.user) this.storage.setItem(KEYS.userId, this.user);
    const b = this.browser;
    if (b && this.opts.cookieDomain !== undefined) {
      b.document.cookie = `${KEYS.anonymousId}=${encodeURIComponent(this.anon)}; Max-Age=${YEAR_S}; Path=/; SameSite=Lax${this.opts.cookieDomain ? `; Domain=${this.opts.cookieDomain}` : ''}${b.location.href.startsWith('https:') ? '; Secure' : ''}`;
    }
  }

  private cookieId(): string | null {
    if (!this.browser || !this.mayStore()) return null;
    const m = new RegExp(`(?:^|;\\s*)${KEYS.anonymousId}=([^;]+)`).exec(this.browser.document.cookie);
    return m ? decodeURIComponent(m[1]!) : null;
  }

  private scheduleFlush(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.transport.flush();
    }, this.flushIntervalMs);
    // A server process may exit while only this timer is pending.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function clean<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function referrerHost(url: string): string {
  try {
    return url ? new URL(url).hostname.toLowerCase() : '';
  } catch {
    return '';
  }
}

function safeTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export function createTracker(opts: TrackerOptions): Tracker {
  return new Tracker(opts);
}

export { MemoryStorage };
