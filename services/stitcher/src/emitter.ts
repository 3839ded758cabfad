import type { Bus, Logger } from '@touchline/platform';
import { outputKey, type Ownership } from './ownership.js';
import type { StitchOutput } from './state.js';

/**
 * Publishes outputs one call after another, in the order they were computed: two publishes of
 * the same key never race, so the topic's last record for a key is the last one computed. Journeys
 * and null paths go to the journeys topic, probabilistic links to the identity-links topic. A
 * publish that fails is retried until it succeeds (the state has moved on; dropping the outputs
 * would lose them). Before each attempt, outputs this instance no longer owns are dropped.
 */
export class Emitter {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      bus: Bus;
      topics: { journeys: string; identityLinks: string };
      ownership: Ownership;
      headers: Record<string, string>;
      logger: Logger;
    },
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
    const links = out.filter((o) => o.kind === 'identity_link');
    const journeys = links.length === 0 ? out : out.filter((o) => o.kind !== 'identity_link');
    for (const chunk of chunks(links, MAX_PUBLISH_BYTES)) await this.sendChunk(this.deps.topics.identityLinks, chunk, generation);
    for (const chunk of chunks(journeys, MAX_PUBLISH_BYTES)) await this.sendChunk(this.deps.topics.journeys, chunk, generation);
  }

  private async sendChunk(topic: string, out: Array<{ output: StitchOutput; value: string }>, generation: number): Promise<void> {
    const { bus, ownership, headers, logger } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const records = out
        .filter(({ output }) => ownership.mayPublish(outputKey(output), generation))
        .map(({ output, value }) => ({ key: outputKey(output), value, headers }));
      if (records.length === 0) return;
      try {
        await bus.publish(topic, records);
        return;
      } catch (err) {
        logger.warn({ err, attempt, topic, records: records.length }, 'stitcher outputs not published; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }
}

/**
 * Bytes of values per publish call. A reconciliation can republish thousands of journeys at once,
 * some with hundreds of touches; one Kafka record batch of megabytes would exceed the broker's
 * message.max.bytes (1 MiB by default) and consumers' max bytes per partition.
 */
const MAX_PUBLISH_BYTES = 256 * 1024;

/** Serialises outputs and splits them, in order, into runs of at most `maxBytes` (at least one each). */
function* chunks(out: StitchOutput[], maxBytes: number): Generator<Array<{ output: StitchOutput; value: string }>> {
  let chunk: Array<{ output: StitchOutput; value: string }> = [];
  let bytes = 0;
  for (const output of out) {
    const value = JSON.stringify(output);
    if (chunk.length > 0 && bytes + value.length > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push({ output, value });
    bytes += value.length;
  }
  if (chunk.length > 0) yield chunk;
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
