/**
 * The few browser APIs the tracker touches, as structural types: the package builds without the DOM
 * library, runs in Node, and tests hand it fakes.
 */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BrowserEnv {
  location: { href: string; search: string; pathname: string; hostname: string };
  document: {
    referrer: string;
    title: string;
    cookie: string;
    visibilityState?: string;
    addEventListener(type: 'visibilitychange', listener: () => void): void;
  };
  navigator: {
    userAgent: string;
    language?: string;
    sendBeacon?(url: string, data: unknown): boolean;
  };
  localStorage?: StorageLike;
  sessionStorage?: StorageLike;
  addEventListener(type: 'pagehide', listener: () => void): void;
  /** `Blob`, for sendBeacon bodies. */
  Blob?: new (parts: string[], options: { type: string }) => unknown;
}

/** The browser's globals when there is a browser, else undefined (Node, workers). */
export function detectBrowser(): BrowserEnv | undefined {
  const g = globalThis as unknown as Partial<BrowserEnv> & { window?: unknown };
  if (!g.window || !g.document || !g.location || !g.navigator) return undefined;
  const safe = (name: 'localStorage' | 'sessionStorage'): StorageLike | undefined => {
    try {
      // Reading the property throws when storage is blocked (privacy modes, sandboxed iframes).
      return (g as Record<string, unknown>)[name] as StorageLike | undefined;
    } catch {
      return undefined;
    }
  };
  return {
    location: g.location,
    document: g.document,
    navigator: g.navigator,
    localStorage: safe('localStorage'),
    sessionStorage: safe('sessionStorage'),
    addEventListener: (type, listener) => (g.window as { addEventListener(t: string, l: () => void): void }).addEventListener(type, listener),
    Blob: (globalThis as { Blob?: BrowserEnv['Blob'] }).Blob,
  };
}

/** A storage that forgets on reload, where no persistent storage may or can be used. */
export class MemoryStorage implements StorageLike {
  private readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

/** Storage calls never throw at the caller (quota exceeded, storage disabled mid-session). */
export function guarded(s: StorageLike | undefined): StorageLike {
  if (!s) return new MemoryStorage();
  return {
    getItem: (k) => {
      try {
        return s.getItem(k);
      } catch {
        return null;
      }
    },
    setItem: (k, v) => {
      try {
        s.setItem(k, v);
      } catch {
        // Best effort: the id lives on in memory for this page.
      }
    },
    removeItem: (k) => {
      try {
        s.removeItem(k);
      } catch {
        // As above.
      }
    },
  };
}

export function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
