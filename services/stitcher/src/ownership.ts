import { murmur2Partitioner, type TopicPartition } from '@touchline/platform';
import type { StitchOutput } from './state.js';

/**
 * The key an output is published under; it also decides which instance owns the output. A journey's
 * is its conversionId, a null path's its pathId, a probabilistic link's its linkId (the device pair).
 */
export function outputKey(o: StitchOutput): string {
  return o.kind === 'journey' ? o.conversion.conversionId : o.kind === 'null_path' ? o.pathId : o.linkId;
}

/**
 * Which outputs this instance publishes. Every instance holds the whole state; the stitcher's
 * consumer group hands out the partitions of the ownership topic, and an instance publishes the
 * outputs whose key hashes (murmur2, like the bus) to a partition it holds.
 *
 * Holding partitions is not enough to publish: after every assignment the instance first catches up
 * on the inputs and on the journeys topic and reconciles (`activate`). Every change of assignment
 * starts a new generation; outputs computed under an older one are dropped, since the next owner
 * (or this instance after its next reconcile) publishes what differs from the topic.
 */
export class Ownership {
  private held = new Set<number>();
  private gen = 0;
  private active = false;

  constructor(
    /** The topic whose partitions the group hands out. */
    readonly topic: string,
    /** Its partition count: keys hash over it. */
    readonly partitionCount: number,
  ) {
    if (partitionCount < 1) throw new Error(`Ownership: topic ${topic} has no partitions`);
  }

  /** A new assignment of the group (possibly empty). Publishing stops until `activate`. */
  assign(assignment: TopicPartition[]): void {
    this.held = new Set(assignment.filter((tp) => tp.topic === this.topic).map((tp) => tp.partition));
    this.gen++;
    this.active = false;
  }

  /** Reconciled with the topic for the current assignment: publishing may start. */
  activate(): void {
    this.active = true;
  }

  get generation(): number {
    return this.gen;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Whether an assignment with partitions is waiting for its reconciliation. */
  get pending(): boolean {
    return !this.active && this.held.size > 0;
  }

  get partitions(): number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  /** Whether this instance holds the key's partition (whether or not it is active yet). */
  holds(key: string): boolean {
    return this.held.has(murmur2Partitioner(key, this.partitionCount));
  }

  /** Whether an output with this key, computed in `generation`, may be published now. */
  mayPublish(key: string, generation: number): boolean {
    return this.active && generation === this.gen && this.holds(key);
  }
}
