import type { Bus, Logger } from '@touchline/platform';
import { outputKey, type Ownership } from './ownership.js';
import type { StitchOutput } from './state.js';

/**
 * Publishes outputs one call after another, in the order they were computed: two publishes of
 * the same key never race, so the topic's last record for a key is the last one computed. A
 * publish that fails is retried until it succeeds (the state has moved on; dropping the outputs
 * would lose them). Before each attempt, outputs this instance no longer owns are dropped.
 */
export class Emitter {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { bus: Bus; topic: string; ownership: Ownership; headers: Record<string, string>; logger: Logger },
  ) {}

  /** Queues outputs computed under ownership `generation`; resolves once published or dropped. */
  emit(out: StitchOutput[], generation: number): Promise<void> {
    if (out.length === 0) return Promise.resolve();
    const run = this.chain.then(() => this.send(out, generation));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves once everything queued so far is published or dropped. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async send(out: StitchOutput[], generation: number): Promise<void> {
    const { bus, topic, ownership, headers, logger } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const records = out
        .filter((o) => ownership.mayPublish(outputKey(o), generation))
        .map((o) => ({ key: outputKey(o), value: JSON.stringify(o), headers }));
      if (records.length === 0) return;
      try {
        await bus.publish(topic, records);
        return;
      } catch (err) {
        logger.warn({ err, attempt, records: records.length }, 'journeys not published; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }
}

/** Wakes waiters when progress was made; a wait also ends after its timeout. */
export class Signal {
  private waiters: Array<() => void> = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.waiters;
      waiters.push(done);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
