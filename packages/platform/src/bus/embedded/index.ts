/**
 * EmbeddedBus: the durable, single-process event log of Touchline's embedded mode.
 *
 * ## Layout
 *
 *   <dir>/LOCK                                   pid of the owning process (stale locks are taken over)
 *   <dir>/topics/<topic>/meta.json               {"version":1,"partitions":N}, written last at creation
 *   <dir>/topics/<topic>/<partition>/<baseOffset, 20 digits>.log   segment files
 *   <dir>/groups/<encodeURIComponent(groupId)>.json                committed offsets of a group
 *
 * ## Record frame (big-endian; see record.ts)
 *
 *   length:u32 crc32:u32 | magic:u8=1 attributes:u8 offset:u64 timestamp:i64
 *   keyLen:u32 key headerCount:u32 (kLen:u32 k vLen:u32 v)* valueLen:u32 value
 *
 * `length` counts the bytes after itself; `crc32` (IEEE) covers everything after itself. Each
 * record stores its absolute offset, so recovery also checks that offsets are contiguous.
 * A segment is rolled once it holds `segmentBytes` (default 64 MiB). Each segment keeps a sparse
 * in-memory index (one (offset, position) pair of two u32 per 4 KiB of log) rebuilt at open;
 * reads use positioned reads of bounded size, never whole segments.
 *
 * ## Durability argument
 *
 * - `publish` resolves only after its records were written *and* `fdatasync`ed (group commit:
 *   all publishes queued during a cycle share one fdatasync per touched file). fdatasync flushes
 *   the data and the metadata needed to read it back (the file size), so once it returns the
 *   bytes are on stable storage: they survive `kill -9` (which never loses the page cache anyway)
 *   and power loss (provided the drive honours flushes, as any drive with a sane write cache does).
 * - A file's *name* lives in its directory. A new segment file, topic/partition directory,
 *   meta.json or offsets file is only durable once its parent directory is fsynced too; without
 *   that a power loss can leave a perfectly fsynced file unreachable. Every creation and rename
 *   here is followed by an fsync of the directory before anything depends on it.
 * - A crash can tear only what was not yet acknowledged: the tail of the last segment. When
 *   rolling, the old segment is fdatasynced before the new file is created, so sealed segments
 *   are always complete. At open every segment is scanned; a record with a bad length, bad CRC
 *   or unexpected offset at the end of the last segment is cut off (truncate + fsync, with a
 *   warning giving the number of bytes dropped), and appends continue at the right offset.
 *   Damage inside a sealed segment is reported as `CorruptLogError` instead of silently dropping
 *   acknowledged records.
 * - Consumer offsets are written to a temp file, fsynced, renamed over the old file, and the
 *   directory is fsynced: a crash leaves the old or the new offsets, never a torn file. Offsets are
 *   committed only after the handler resolved (at-least-once).
 * - If a write or fsync fails, every publish of that cycle is rejected and the bus refuses
 *   further writes until it is reopened (after a failed fsync the page cache cannot be trusted).
 *   Readers only ever see durable records, so consumers never act on a record that might vanish.
 *
 * ## Consumers
 *
 * One running consumer per group per process. Each topic-partition has its own delivery loop:
 * batches of one partition are strictly ordered and one at a time (read → handler → commit);
 * different partitions run concurrently. A failing batch is retried with exponential backoff
 * (100 ms → 5 s by default), never skipped, without holding back other partitions. Appends wake
 * waiting consumers immediately (in-process notification, no polling). A new group with
 * `fromBeginning: false` commits its starting (end) offsets at once, so a restart before its first
 * record does not skip what was published in between.
 *
 * Beyond `Bus` (anticipating `pipeline.ts`): `committedOffsets(groupId, topic)`, and
 * `consume({ ..., commit: false })` for readers that must never commit.
 *
 * ## Retention
 *
 * Nothing is deleted yet. See `PartitionLog`: sealed segments wholly below the minimum committed
 * offset of all groups can be dropped from the front; readers already start at `startOffset`.
 */
export { EmbeddedBus, type EmbeddedBusOptions } from './embedded-bus.js';
export { CorruptLogError, type EmbeddedLogger } from './partition-log.js';
export type { RetryBackoff } from './consumer.js';
export type { FsOps } from './fsutil.js';
