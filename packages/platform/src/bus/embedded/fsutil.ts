import * as fs from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The two I/O calls on the publish path, separated so tests can inject failures and delays.
 * Everything else goes straight to `node:fs`.
 */
export interface FsOps {
  /** Positioned write (`pwrite`); may write fewer bytes than asked. */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
}

export const nodeFsOps: FsOps = {
  write: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => {
      fs.write(fd, buf, offset, length, position, (err, written) => (err ? reject(err) : resolve(written)));
    }),
  fdatasync: (fd) =>
    new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    }),
};

export function openFd(path: string, flags: string | number, mode = 0o644): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function ftruncateFd(fd: number, len: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, len, (err) => (err ? reject(err) : resolve())));
}

/** Positioned read of up to `length` bytes; returns how many were read (fewer only at EOF). */
export async function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let total = 0;
  while (total < length) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, buf, offset + total, length - total, position + total, (err, bytes) =>
        err ? reject(err) : resolve(bytes),
      ),
    );
    if (n === 0) break;
    total += n;
  }
  return total;
}

/** Writes all of `buf[offset, offset+length)` at `position`, looping over short writes. */
export async function writeAll(ops: FsOps, fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await ops.write(fd, buf, offset + done, length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n}`);
    done += n;
  }
}

/**
 * fsyncs a directory, which makes the entries created, renamed or removed in it durable. Without
 * it a freshly created file can be fully fsynced yet missing after a power loss, because its name
 * lives in the directory's own data.
 */
export async function fsyncDir(path: string): Promise<void> {
  const fd = await openFd(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** `mkdir -p` that fsyncs the parent of every directory it creates. */
export async function mkdirDurable(path: string): Promise<void> {
  try {
    await fs.promises.mkdir(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw err;
    await mkdirDurable(dirname(path));
    try {
      await fs.promises.mkdir(path);
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err2;
    }
  }
  await fsyncDir(dirname(path));
}

/**
 * Replaces `path` atomically and durably: write `path.tmp`, fsync it, rename over `path`, fsync the
 * directory. A crash leaves either the old or the new content, never a mix or an empty file.
 * Concurrent calls for the same path must be serialized by the caller (they share the tmp name).
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await openFd(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    await writeAll(nodeFsOps, fd, buf, 0, buf.length, 0);
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
  await fs.promises.rename(tmp, path);
  await fsyncDir(dirname(path));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dir>/LOCK` (containing the owner's pid) so two buses never append to the same log.
 * A lock left by a dead process (crash, kill -9) is taken over.
 */
export async function acquireDirLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  // Write the pid to a private file first, then hard-link it into place: link() fails if LOCK
  // exists, and a LOCK that exists always holds a complete pid.
  const mine = join(dir, `LOCK.${process.pid}`);
  await fs.promises.writeFile(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.promises.link(mine, path);
        return async () => {
          await fs.promises.rm(path, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number.parseInt(await fs.promises.readFile(path, 'utf8').catch(() => ''), 10);
        if (owner === process.pid) {
          throw new Error(`EmbeddedBus: ${dir} is already open in this process (close the other instance first)`);
        }
        if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) {
          throw new Error(`EmbeddedBus: ${dir} is locked by running process ${owner}`);
        }
        // Stale lock left by a dead process (crash, kill -9): take it over.
        await fs.promises.rm(path, { force: true });
      }
    }
  } finally {
    await fs.promises.rm(mine, { force: true });
  }
  throw new Error(`EmbeddedBus: could not lock ${dir}`);
}
