import * as fs from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';

interface GroupFile {
  version: 1;
  groupId: string;
  /** `topic:partition` → next offset to consume, as a decimal string. */
  offsets: Record<string, string>;
}

export function groupFilePath(groupsDir: string, groupId: string): string {
  if (groupId.length === 0) throw new Error('EmbeddedBus: groupId must not be empty');
  const name = `${encodeURIComponent(groupId)}.json`;
  if (Buffer.byteLength(name) > 250) throw new Error(`EmbeddedBus: groupId too long: ${groupId.slice(0, 40)}…`);
  return join(groupsDir, name);
}

/**
 * Committed offsets of one consumer group, persisted in `<dir>/groups/<groupId>.json` with an
 * atomic replace (tmp + fsync + rename + fsync dir). Concurrent commits (from the partitions the
 * group consumes concurrently) coalesce: one file write covers every commit made before it began.
 */
export class GroupOffsets {
  /** Latest offsets, including commits whose file write is still in progress. */
  readonly offsets = new Map<string, number>();
  /** Offsets as of the last completed (durable) write. */
  durableOffsets = new Map<string, number>();
  private version = 0;
  private durableVersion = 0;
  private inflight: Promise<void> | null = null;

  private constructor(
    readonly groupId: string,
    readonly path: string,
  ) {}

  static async load(groupsDir: string, groupId: string): Promise<GroupOffsets> {
    const g = new GroupOffsets(groupId, groupFilePath(groupsDir, groupId));
    let text: string;
    try {
      text = await fs.promises.readFile(g.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return g;
      throw err;
    }
    let parsed: GroupFile;
    try {
      parsed = JSON.parse(text) as GroupFile;
    } catch (err) {
      throw new Error(`EmbeddedBus: unreadable offsets file ${g.path}`, { cause: err });
    }
    for (const [k, v] of Object.entries(parsed.offsets ?? {})) {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`EmbeddedBus: bad offset ${String(v)} for ${k} in ${g.path}`);
      g.offsets.set(k, n);
    }
    g.durableOffsets = new Map(g.offsets);
    return g;
  }

  /** Sets offsets and resolves once they are durable. */
  async commit(entries: Array<[string, number]>): Promise<void> {
    for (const [k, v] of entries) this.offsets.set(k, v);
    const mine = ++this.version;
    for (;;) {
      if (this.durableVersion >= mine) return;
      if (this.inflight) {
        await this.inflight.catch(() => undefined);
        continue;
      }
      const v = this.version;
      const snapshot = new Map(this.offsets);
      const file: GroupFile = { version: 1, groupId: this.groupId, offsets: {} };
      for (const [k, off] of this.offsets) file.offsets[k] = String(off);
      this.inflight = writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`)
        .then(() => {
          if (v > this.durableVersion) {
            this.durableVersion = v;
            this.durableOffsets = snapshot;
          }
        })
        .finally(() => {
          this.inflight = null;
        });
      await this.inflight;
    }
  }
}
