import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { decodeDoc, encodeDoc, type Encoded } from './codec.js';
import { frame, readFrames } from './framing.js';
import type { StoredDoc } from './values.js';

/**
 * Durable storage of the local Firestore in `<dataDir>/firestore/`:
 * - `wal.log`: one framed record (framing.ts) per commit that changed something, JSON
 *   `{v, seq, commitMs, put: [document…], del: [name…]}` (codec.ts): the resulting documents,
 *   not the operations, so replay is idempotent and independent of write semantics. Appended
 *   synchronously before the commit is acknowledged; optionally fdatasync'ed.
 * - `snapshot.bin`: a meta record `{format, seq, lastCommitMs, documents}`, then one record per
 *   document as of `seq`; written to a temp file, fsync'ed and renamed over the old one.
 * - `LOCK`: the pid of the process that has the directory open.
 */
export interface CommitRecord {
  seq: number;
  commitMs: number;
  puts: StoredDoc[];
  deletes: string[];
}

export interface LoadedState {
  docs: Map<string, StoredDoc>;
  lastSeq: number;
  lastCommitMs: number;
}

const FORMAT = 1;
const snapshotMetaSchema = z.object({ format: z.literal(FORMAT), seq: z.number().int().nonnegative(), lastCommitMs: z.number(), documents: z.number().int().nonnegative() });
const walRecordSchema = z.object({
  v: z.literal(FORMAT),
  seq: z.number().int().positive(),
  commitMs: z.number(),
  put: z.array(z.unknown()),
  del: z.array(z.string()),
});
const openInThisProcess = new Set<string>();
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const parse = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8'));

export class DocumentLog {
  private readonly dir: string;
  private readonly walPath: string;
  private readonly snapshotPath: string;
  private readonly lockPath: string;
  private walFd: number | undefined;
  private walBytes = 0;
  private records = 0;
  /** Set when an append could not be undone: the file no longer matches memory, so stop writing. */
  private broken: Error | undefined;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    private readonly syncEveryCommit: boolean,
  ) {
    this.dir = path.resolve(dataDir, 'firestore');
    this.walPath = path.join(this.dir, 'wal.log');
    this.snapshotPath = path.join(this.dir, 'snapshot.bin');
    this.lockPath = path.join(this.dir, 'LOCK');
  }

  get walRecords(): number {
    return this.records;
  }

  /** Locks the directory and loads snapshot + log. The log is then open for appends. */
  open(): LoadedState {
    // The documents hold investigation state: readable by the owner only.
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.lock();
    try {
      const state = this.readSnapshot();
      this.replayWal(state);
      this.walFd = fs.openSync(this.walPath, 'a', 0o600);
      return state;
    } catch (err) {
      this.unlock();
      throw err;
    }
  }

  append(record: CommitRecord): void {
    if (this.broken) throw this.broken;
    if (this.walFd === undefined) throw new Error('The document log is not open.');
    const bytes = frame(json({ v: FORMAT, seq: record.seq, commitMs: record.commitMs, put: record.puts.map(encodeDoc), del: record.deletes }));
    try {
      writeAll(this.walFd, bytes);
      if (this.syncEveryCommit) fs.fdatasyncSync(this.walFd);
    } catch (err) {
      // Cut the partial record off so later appends do not land behind garbage.
      try {
        fs.ftruncateSync(this.walFd, this.walBytes);
      } catch (truncateErr) {
        this.broken = new Error(`The write-ahead log ${this.walPath} could not be repaired after a failed append; restart the local stack.`, { cause: truncateErr });
        this.logger.error('local firestore log is broken; refusing further commits', truncateErr);
      }
      throw err;
    }
    this.walBytes += bytes.length;
    this.records++;
  }

  /** Writes all documents to a new snapshot (temp file + rename), then empties the log. */
  compact(docs: Iterable<StoredDoc>, lastSeq: number, lastCommitMs: number): number {
    if (this.broken) throw this.broken;
    const frames: Buffer[] = [];
    let count = 0;
    for (const doc of docs) {
      frames.push(frame(json(encodeDoc(doc))));
      count++;
    }
    const meta = json({ format: FORMAT, seq: lastSeq, lastCommitMs, documents: count });
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, frame(meta));
      for (const f of frames) writeAll(fd, f);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotPath);
    this.syncDirectory();
    // A crash before this truncate leaves records the snapshot already holds: replay skips them by seq.
    if (this.walFd !== undefined) {
      fs.ftruncateSync(this.walFd, 0);
      fs.fsyncSync(this.walFd);
    }
    this.walBytes = 0;
    this.records = 0;
    return count;
  }

  close(): void {
    if (this.walFd !== undefined) {
      fs.closeSync(this.walFd);
      this.walFd = undefined;
    }
    this.unlock();
  }

  private readSnapshot(): LoadedState {
    const state: LoadedState = { docs: new Map(), lastSeq: 0, lastCommitMs: 0 };
    if (!fs.existsSync(this.snapshotPath)) return state;
    const damaged = (cause?: unknown) =>
      new ConfigError(`The local Firestore snapshot ${this.snapshotPath} is damaged or of an unknown format; refusing to start rather than lose data.`, { cause });
    const { records, stop } = readFrames(fs.readFileSync(this.snapshotPath));
    const [metaBytes, ...docRecords] = records;
    if (stop || !metaBytes) throw damaged();
    try {
      const meta = snapshotMetaSchema.parse(parse(metaBytes));
      if (meta.documents !== docRecords.length) throw new Error(`expected ${meta.documents} documents, found ${docRecords.length}`);
      for (const r of docRecords) {
        const doc = decodeDoc(parse(r) as Encoded);
        state.docs.set(doc.name, doc);
      }
      state.lastSeq = meta.seq;
      state.lastCommitMs = meta.lastCommitMs;
    } catch (err) {
      throw damaged(err);
    }
    return state;
  }

  private replayWal(state: LoadedState): void {
    if (!fs.existsSync(this.walPath)) return;
    const data = fs.readFileSync(this.walPath);
    const { records, validBytes, stop } = readFrames(data);
    if (stop?.reason === 'corrupt') {
      throw new ConfigError(
        `The local Firestore write-ahead log ${this.walPath} is damaged at byte ${stop.offset} with intact data after it; refusing to start rather than drop acknowledged writes.`,
      );
    }
    if (stop) {
      this.logger.warn('ignoring a torn final record in the local firestore write-ahead log', { offset: stop.offset, bytes: data.length - stop.offset });
      fs.truncateSync(this.walPath, validBytes);
    }
    records.forEach((payload, index) => {
      let record: z.output<typeof walRecordSchema>;
      let puts: StoredDoc[];
      try {
        record = walRecordSchema.parse(parse(payload));
        puts = record.put.map((d) => decodeDoc(d as Encoded));
      } catch (err) {
        throw new ConfigError(`The local Firestore write-ahead log ${this.walPath} has an unreadable record (#${index + 1}); refusing to start.`, { cause: err });
      }
      if (record.seq <= state.lastSeq) return;
      for (const doc of puts) state.docs.set(doc.name, doc);
      for (const name of record.del) state.docs.delete(name);
      state.lastSeq = record.seq;
      state.lastCommitMs = Math.max(state.lastCommitMs, record.commitMs);
    });
    this.walBytes = validBytes;
    this.records = records.length;
  }

  private lock(): void {
    if (openInThisProcess.has(this.dir)) throw new ConfigError(`The local Firestore data directory ${this.dir} is already open in this process.`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
        openInThisProcess.add(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(fs.readFileSync(this.lockPath, 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
          throw new ConfigError(`The local Firestore data directory ${this.dir} is in use by process ${owner}.`);
        }
        this.logger.warn('taking over a stale local firestore lock', { stale_pid: owner });
        fs.rmSync(this.lockPath, { force: true });
      }
    }
    throw new ConfigError(`Could not lock the local Firestore data directory ${this.dir}.`);
  }

  private unlock(): void {
    if (!openInThisProcess.delete(this.dir)) return;
    fs.rmSync(this.lockPath, { force: true });
  }

  private syncDirectory(): void {
    try {
      const fd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Some platforms cannot fsync a directory; the rename is still atomic there.
    }
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
