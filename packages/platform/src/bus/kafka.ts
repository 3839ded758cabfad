/**
 * `KafkaBus`: the `Bus` contract on Apache Kafka through kafkajs.
 *
 * Producer: acks=-1 (all in-sync replicas), kafkajs `DefaultPartitioner` (Java-compatible murmur2
 * on the key, the same function as `murmur2Partitioner` used by the embedded bus), compression off
 * unless `gzip: true`. The producer is deliberately NOT idempotent: librdkafka's mock cluster (our
 * test broker) refuses InitProducerId for kafkajs ("Broker 0 not found in the cached metadata").
 * On a real Kafka 3+ cluster idempotence would be the right setting (it makes broker-side retries
 * exactly-once per partition and keeps order with several requests in flight); without it a
 * retried produce may append a record twice. That is harmless here: every envelope carries a
 * `messageId` and all consumers deduplicate on it, and consumption is at-least-once anyway.
 *
 * Ordering: records of one `publish` call with the same key go to one partition in call order;
 * calls that are awaited one after another keep their order. Concurrent `publish` calls for the
 * same key have no defined relative order (kafkajs retries per call).
 *
 * Consumer: see `KafkaBusConsumer` (commit after the handler resolved; failed batches redelivered).
 */
import {
  CompressionTypes,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type KafkaConfig,
  type Producer,
} from 'kafkajs';
import type { Bus, BusRecord, ConsumeOptions, Consumer } from './types.js';
import {
  DEFAULT_CONSUMER_TUNING,
  KafkaBusConsumer,
  type KafkaConsumerTuning,
  type ResolvedConsumerTuning,
} from './kafka/consumer.js';
import { errorMessage, kafkajsLogCreator, silentLogger, sleep, toKafkaMessage, type BusLogger } from './kafka/util.js';

export type { BusLogger } from './kafka/util.js';
export type { KafkaConsumerTuning } from './kafka/consumer.js';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs' warnings and errors, and the bus's own events, go here. Default: discarded. */
  logger?: BusLogger;
  /** Passed through to kafkajs. */
  ssl?: KafkaConfig['ssl'];
  /** Passed through to kafkajs. */
  sasl?: KafkaConfig['sasl'];
  /** TCP connect timeout (ms). kafkajs default 1 000. */
  connectionTimeout?: number;
  /** Request timeout (ms). kafkajs default 30 000. */
  requestTimeout?: number;
  /** Client-level retry of kafkajs requests (produce, metadata, admin). */
  retry?: { initialRetryTime?: number; maxRetryTime?: number; retries?: number };
  /** gzip produced batches. Default false. */
  gzip?: boolean;
  /** Replication factor of topics created by `ensureTopics`. Default -1 (the broker's default). */
  replicationFactor?: number;
  /** How long `ensureTopics` waits for every partition to have a leader (ms). Default 30 000. */
  topicReadyTimeoutMs?: number;
  /** Defaults for every `consume` (each call may override with `tuning`). */
  consumer?: KafkaConsumerTuning;
}

export interface KafkaConsumeOptions extends ConsumeOptions {
  /** Per-consumer overrides of `KafkaBusOptions.consumer`. */
  tuning?: KafkaConsumerTuning;
}

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;

  private readonly consumers = new Set<KafkaBusConsumer>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closePromise: Promise<void> | null = null;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly opts: KafkaBusOptions,
    private readonly logger: BusLogger,
  ) {}

  static async connect(opts: KafkaBusOptions): Promise<KafkaBus> {
    if (opts.brokers.length === 0) throw new Error('KafkaBus.connect: no brokers given');
    const logger = opts.logger ?? silentLogger;
    const kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      ssl: opts.ssl,
      sasl: opts.sasl,
      connectionTimeout: opts.connectionTimeout,
      requestTimeout: opts.requestTimeout,
      retry: opts.retry,
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(logger),
    });
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      idempotent: false,
    });
    const admin = kafka.admin();
    try {
      await Promise.all([producer.connect(), admin.connect()]);
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw err;
    }
    logger.info({ brokers: opts.brokers, clientId: opts.clientId }, 'kafka bus connected');
    return new KafkaBus(kafka, producer, admin, opts, logger);
  }

  private assertOpen(): void {
    if (this.closePromise) throw new Error('KafkaBus is closed');
  }

  /** Tracks a produce so `close()` can wait for everything accepted. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const untrack = (): void => {
      this.inFlight.delete(p);
    };
    p.then(untrack, untrack);
    return p;
  }

  async ensureTopics(topics: string[], partitions = 4): Promise<void> {
    this.assertOpen();
    const unique = [...new Set(topics)];
    if (unique.length === 0) return;
    let fellBack = false;
    try {
      await this.admin.createTopics({
        topics: unique.map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: this.opts.replicationFactor ?? -1,
        })),
        waitForLeaders: true,
      });
      // kafkajs resolves false (no throw) when every topic already existed.
    } catch (err) {
      // Brokers without CreateTopics for us (librdkafka's mock cluster has no controller: "Broker 0
      // not found in the cached metadata"; clusters with creation reserved to operators): rely on
      // auto-creation, which a metadata request triggers when auto.create.topics.enable is on.
      fellBack = true;
      this.logger.warn(
        { topics: unique, err: errorMessage(err) },
        'kafka createTopics refused; relying on auto-creation through a metadata request',
      );
      try {
        await this.admin.fetchTopicMetadata({ topics: unique });
      } catch (metaErr) {
        // Freshly auto-created topics may briefly report LEADER_NOT_AVAILABLE; waitForTopics retries.
        this.logger.warn({ topics: unique, err: errorMessage(metaErr) }, 'kafka metadata after auto-creation');
      }
    }
    const counts = await this.waitForTopics(unique, createTopicsError(fellBack));
    if (fellBack) {
      for (const [topic, n] of counts) {
        if (n !== partitions) {
          this.logger.warn(
            { topic, partitions: n, requested: partitions },
            'kafka topic has a different partition count than requested (existing topic or broker num.partitions)',
          );
        }
      }
    }
  }

  /** Polls metadata until every topic has partitions and every partition a leader. */
  private async waitForTopics(topics: string[], context: string): Promise<Map<string, number>> {
    const deadline = Date.now() + (this.opts.topicReadyTimeoutMs ?? 30_000);
    let lastProblem = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const { topics: meta } = await this.admin.fetchTopicMetadata({ topics });
        const counts = new Map<string, number>();
        const problems: string[] = [];
        for (const topic of topics) {
          const t = meta.find((m) => m.name === topic);
          if (!t || t.partitions.length === 0) {
            problems.push(`${topic}: no partitions`);
            continue;
          }
          const leaderless = t.partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0);
          if (leaderless.length > 0) {
            problems.push(`${topic}: partitions without leader ${leaderless.map((p) => p.partitionId).join(',')}`);
            continue;
          }
          counts.set(topic, t.partitions.length);
        }
        if (problems.length === 0) return counts;
        lastProblem = problems.join('; ');
      } catch (err) {
        lastProblem = errorMessage(err);
      }
      if (Date.now() >= deadline) {
        throw new Error(`KafkaBus.ensureTopics: topics not ready (${context}): ${lastProblem}`);
      }
      await sleep(Math.min(1_000, 50 * 2 ** attempt));
    }
  }

  async publish(topic: string, records: BusRecord[]): Promise<void> {
    this.assertOpen();
    if (records.length === 0) return;
    const now = Date.now();
    await this.track(
      this.producer.send({
        topic,
        acks: -1,
        compression: this.compression(),
        messages: records.map((r) => toKafkaMessage(r, now)),
      }),
    );
  }

  async publishMany(batches: Array<{ topic: string; records: BusRecord[] }>): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    // One entry per topic (in first-seen order) so records of a topic keep their relative order.
    const byTopic = new Map<string, ReturnType<typeof toKafkaMessage>[]>();
    for (const { topic, records } of batches) {
      if (records.length === 0) continue;
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      for (const r of records) list.push(toKafkaMessage(r, now));
    }
    if (byTopic.size === 0) return;
    await this.track(
      this.producer.sendBatch({
        acks: -1,
        compression: this.compression(),
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      }),
    );
  }

  private compression(): CompressionTypes {
    return this.opts.gzip ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  async consume(options: KafkaConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error('KafkaBus.consume: no topics given');
    const tuning: ResolvedConsumerTuning = {
      ...DEFAULT_CONSUMER_TUNING,
      ...stripUndefined(this.opts.consumer ?? {}),
      ...stripUndefined(options.tuning ?? {}),
    };
    const consumer = new KafkaBusConsumer(this.kafka, this.admin, options, tuning, this.logger, (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    await consumer.start();
    return consumer;
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    for (const t of res) {
      for (const { partition, offset } of t.partitions) if (offset !== '-1' && offset !== '') out.set(partition, offset);
    }
    return out;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high] as const).sort((a, b) => a[0] - b[0]));
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      const results = await Promise.allSettled([
        ...[...this.consumers].map((c) => c.stop()),
        ...[...this.inFlight],
      ]);
      for (const r of results) {
        if (r.status === 'rejected') {
          this.logger.warn({ err: errorMessage(r.reason) }, 'kafka bus: error while closing');
        }
      }
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
      this.logger.info({ clientId: this.opts.clientId }, 'kafka bus closed');
    })();
    return this.closePromise;
  }
}

function createTopicsError(fellBack: boolean): string {
  return fellBack ? 'after auto-creation fallback' : 'after createTopics';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
