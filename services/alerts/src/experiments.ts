import { estimateLift, incrementalityCalibrated, type ChannelCredit } from '@touchline/attribution';
import {
  holdoutArm,
  type CalibratedCreditMessage,
  type ConversionMessage,
  type Experiment,
  type ExperimentLiftMessage,
  type HoldoutArm,
  type IdentityMessage,
  type PrivacyDeleteMessage,
  type TouchpointMessage,
} from '@touchline/contracts';

interface Conversion {
  userId: string | undefined;
  anonymousId: string | undefined;
  timestamp: number;
}

/**
 * Live lift of incrementality experiments, from the raw topics (touchpoints, conversions,
 * identities).
 *
 * The denominator. A unit (person or account, the id the experiment hashes) is counted in its arm
 * when it is identified — an identify event naming its user id or account id — and never because
 * of a touch. Touches of the tested channel exist only for exposed units (held-out ones were not
 * shown the ad), so counting units "reached by the channel" would count every exposed unit with a
 * touch but no held-out one, and counting "units with any event" would still lose the held-out
 * units whose only events would have been the tested channel's: either way held-out units are
 * under-counted and the lift is biased. The identified audience is also exactly what an ad
 * platform's exclusion list can hold out (a CRM list, an ABM account list), so the arms compared
 * are the arms the platform applied. The estimate is intention-to-treat over that audience:
 * exposed units the channel never reached count too, so the lift is per audience member, and
 * `incremental` (lift × exposed units) is what the channel added over the whole exposed arm.
 * What remains out of reach: if the tested channel itself makes people identify (a lead form
 * behind the ad), held-out people identify less often; the audience should then be synced
 * (identify events) before the experiment starts.
 *
 * A unit converted when any conversion at or after the experiment's start resolves to it: by user
 * id, or by anonymous id through an identity link, and for account experiments through the
 * user's account. Resolution happens when the estimate is taken, so the result depends only on
 * the set of events received, never on their order; conversions are deduplicated by id and units
 * by id, so a redelivered record changes nothing.
 *
 * The arm is the one ingest tagged on the identify event, or `holdoutArm` of the id when the
 * event was not tagged (sent before the experiment was configured).
 */
export class LiftTracker {
  private readonly anonToUser = new Map<string, string>();
  private readonly userToAccount = new Map<string, string>();
  private readonly emailToUser = new Map<string, string>();
  private readonly conversions = new Map<string, Conversion>();
  private readonly arms: ArmState[];
  private readonly earliestStart: number;
  /** A link was replaced or a person deleted: resolve every conversion again at the next estimate. */
  private recount = false;
  /** Something changed since the last `estimates()`. */
  changed = false;

  constructor(readonly experiments: readonly Experiment[]) {
    this.arms = experiments.map(() => new ArmState());
    this.earliestStart = experiments.reduce((m, e) => Math.min(m, e.start), Infinity);
  }

  observe(m: TouchpointMessage | ConversionMessage | IdentityMessage): void {
    if (m.anonymousId !== undefined && m.userId !== undefined) this.link(this.anonToUser, m.anonymousId, m.userId);
    if (m.kind === 'conversion') {
      if (m.timestamp < this.earliestStart || this.conversions.has(m.conversionId)) return;
      this.conversions.set(m.conversionId, { userId: m.userId, anonymousId: m.anonymousId, timestamp: m.timestamp });
      this.experiments.forEach((e, i) => {
        if (m.timestamp >= e.start) this.arms[i]!.pending.add(m.conversionId);
      });
      this.changed = true;
      return;
    }
    if (m.kind !== 'identity') return;
    if (m.userId !== undefined && m.accountId !== undefined) this.link(this.userToAccount, m.userId, m.accountId);
    if (m.userId !== undefined && m.emailHash !== undefined) this.link(this.emailToUser, m.emailHash, m.userId);
    for (let i = 0; i < this.experiments.length; i++) {
      const e = this.experiments[i] as Experiment;
      const id = e.unit === 'userId' ? m.userId : m.accountId;
      if (id === undefined) continue;
      const state = this.arms[i] as ArmState;
      if (state.units.has(id)) continue;
      const arm = m.arms?.[e.id] ?? holdoutArm(e.id, id, e.share);
      state.units.set(id, arm);
      state.counts[arm].units++;
      this.changed = true;
    }
  }

  /**
   * A deleted person leaves every experiment (as a unit of person experiments) and takes their
   * conversions along; an account stays, since other people of it may still be known.
   */
  forget(d: PrivacyDeleteMessage): void {
    const users = new Set(d.userIds);
    for (const a of d.anonymousIds) {
      const u = this.anonToUser.get(a);
      if (u !== undefined) users.add(u);
    }
    for (const h of d.emailHashes) {
      const u = this.emailToUser.get(h);
      if (u !== undefined) users.add(u);
    }
    const anons = new Set(d.anonymousIds);
    for (const [a, u] of this.anonToUser) if (users.has(u)) anons.add(a);
    for (const [id, c] of this.conversions) {
      if ((c.userId !== undefined && users.has(c.userId)) || (c.anonymousId !== undefined && anons.has(c.anonymousId))) this.conversions.delete(id);
    }
    this.experiments.forEach((e, i) => {
      if (e.unit === 'userId') for (const u of users) this.arms[i]!.units.delete(u);
    });
    for (const a of anons) this.anonToUser.delete(a);
    for (const [h, u] of this.emailToUser) if (users.has(u)) this.emailToUser.delete(h);
    for (const u of users) this.userToAccount.delete(u);
    this.recount = true;
    this.changed = true;
  }

  /**
   * The lift of every experiment now, with `confidence`-level intervals. Incremental: only
   * conversions not yet resolved to a unit of the audience are looked at again (a link or an
   * identify may have arrived since); all of them only after a link was replaced or a deletion.
   */
  estimates(at: number, confidence = 0.95): ExperimentLiftMessage[] {
    this.changed = false;
    if (this.recount) {
      this.experiments.forEach((e, i) => this.arms[i]!.reset(this.conversions, e.start));
      this.recount = false;
    }
    return this.experiments.map((e, i) => {
      const state = this.arms[i] as ArmState;
      for (const id of state.pending) {
        const c = this.conversions.get(id);
        if (c === undefined) {
          state.pending.delete(id);
          continue;
        }
        const user = c.userId ?? (c.anonymousId !== undefined ? this.anonToUser.get(c.anonymousId) : undefined);
        const unit = user === undefined ? undefined : e.unit === 'userId' ? user : this.userToAccount.get(user);
        const arm = unit === undefined ? undefined : state.units.get(unit);
        if (arm === undefined) continue;
        state.pending.delete(id);
        if (state.converted.has(unit as string)) continue;
        state.converted.add(unit as string);
        state.counts[arm].conversions++;
      }
      const exposed = { ...state.counts.exposed };
      const holdout = { ...state.counts.holdout };
      const l = estimateLift(exposed, holdout, confidence);
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      return {
        v: 1,
        kind: 'experiment_lift',
        experimentId: e.id,
        channel: e.channel ?? '',
        campaign: e.campaign ?? '',
        unit: e.unit,
        share: e.share,
        start: e.start,
        at,
        confidence,
        exposed,
        holdout,
        absolute: { estimate: l.absoluteLift, low: l.absoluteInterval.low, high: l.absoluteInterval.high },
        relative: { estimate: finite(l.relativeLift), low: l.relativeInterval.low, high: finite(l.relativeInterval.high) },
        incremental: { estimate: l.incrementalConversions, low: l.incrementalInterval.low, high: l.incrementalInterval.high },
      };
    });
  }

  /** Keeps one link per id whatever the order of arrival: the smallest target wins. */
  private link(map: Map<string, string>, from: string, to: string): void {
    const had = map.get(from);
    if (had === undefined || to < had) {
      map.set(from, to);
      // A replaced link may move conversions resolved through it to another unit.
      if (had !== undefined) this.recount = true;
      this.changed = true;
    }
  }
}

/** One experiment's audience and running counts. */
class ArmState {
  readonly units = new Map<string, HoldoutArm>();
  readonly counts = { exposed: { units: 0, conversions: 0 }, holdout: { units: 0, conversions: 0 } };
  /** Units with a conversion counted. */
  readonly converted = new Set<string>();
  /** Conversions (at or after the start) not yet resolved to a unit of the audience. */
  readonly pending = new Set<string>();

  /** Counts from scratch: every unit, every conversion pending. */
  reset(conversions: ReadonlyMap<string, Conversion>, start: number): void {
    this.converted.clear();
    this.pending.clear();
    this.counts.exposed = { units: 0, conversions: 0 };
    this.counts.holdout = { units: 0, conversions: 0 };
    for (const arm of this.units.values()) this.counts[arm].units++;
    for (const [id, c] of conversions) if (c.timestamp >= start) this.pending.add(id);
  }
}

/**
 * The `incrementality_calibrated` channel credit: `base` (a model's channel credit over all
 * conversions) rescaled by the incremental conversions the channel-level experiments measured.
 * Experiments of one campaign measure only part of a channel and are left out; with no
 * channel-level experiment the credit is the base credit unchanged (see `incrementalityCalibrated`).
 */
export function calibratedCredit(baseModel: string, base: readonly ChannelCredit[], lifts: readonly ExperimentLiftMessage[], at: number): CalibratedCreditMessage {
  const measured = lifts.filter((l) => l.channel !== '' && l.campaign === '');
  const scaled = incrementalityCalibrated(
    base,
    measured.map((l) => ({ channel: l.channel, incrementalConversions: l.incremental.estimate })),
  );
  const byChannel = new Map(measured.map((l) => [l.channel, l.experimentId]));
  return {
    v: 1,
    kind: 'calibrated_credit',
    model: 'incrementality_calibrated',
    baseModel,
    at,
    channels: scaled.map((c, i) => ({
      channel: c.channel,
      conversions: c.conversions,
      value: c.value,
      baseConversions: (base[i] as ChannelCredit).conversions,
      baseValue: (base[i] as ChannelCredit).value,
      experimentId: byChannel.get(c.channel) ?? '',
    })),
  };
}
