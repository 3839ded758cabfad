import type { CreditMessage } from '@touchline/contracts';

export interface ChannelTotals {
  channel: string;
  conversions: number;
  revenue: number;
}

interface Contribution {
  version: number;
  byChannel: Map<string, { weight: number; value: number }>;
}

/**
 * Running attributed conversions and revenue per model and channel. A credit message replaces the
 * earlier credit of its conversion and model (an older version is ignored), so restatements and
 * repeated deliveries keep the totals exact.
 */
export class RevenueBoard {
  private readonly contributions = new Map<string, Contribution>();
  private readonly totals = new Map<string, Map<string, { conversions: number; revenue: number }>>();

  /** Applies one credit; returns false when it was older than what the board already holds. */
  apply(c: CreditMessage): boolean {
    const byChannel = new Map<string, { weight: number; value: number }>();
    for (const s of c.shares) {
      const cur = byChannel.get(s.channel) ?? { weight: 0, value: 0 };
      cur.weight += s.weight;
      cur.value += s.value;
      byChannel.set(s.channel, cur);
    }
    return this.set(c.conversionId, c.model, c.version, byChannel);
  }

  set(conversionId: string, model: string, version: number, byChannel: Map<string, { weight: number; value: number }>): boolean {
    const key = `${conversionId}\u0000${model}`;
    const prev = this.contributions.get(key);
    if (prev && prev.version > version) return false;
    const totals = this.modelTotals(model);
    if (prev) this.add(totals, prev.byChannel, -1);
    this.add(totals, byChannel, 1);
    this.contributions.set(key, { version, byChannel });
    return true;
  }

  models(): string[] {
    return [...this.totals.keys()].sort();
  }

  snapshot(model: string): ChannelTotals[] {
    const t = this.totals.get(model);
    if (!t) return [];
    return [...t]
      .filter(([, v]) => Math.abs(v.conversions) > 1e-9 || Math.abs(v.revenue) > 1e-9)
      .map(([channel, v]) => ({ channel, conversions: round(v.conversions), revenue: round(v.revenue) }))
      .sort((a, b) => b.revenue - a.revenue || a.channel.localeCompare(b.channel));
  }

  private modelTotals(model: string) {
    let t = this.totals.get(model);
    if (!t) this.totals.set(model, (t = new Map()));
    return t;
  }

  private add(totals: Map<string, { conversions: number; revenue: number }>, byChannel: Map<string, { weight: number; value: number }>, sign: 1 | -1) {
    for (const [channel, v] of byChannel) {
      const cur = totals.get(channel) ?? { conversions: 0, revenue: 0 };
      cur.conversions += sign * v.weight;
      cur.revenue += sign * v.value;
      totals.set(channel, cur);
    }
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
