import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../platform/clock.js';
import { newId } from '../platform/ids.js';
import type { ChainAnchor } from './anchor.js';
import { ChainAppender } from './appender.js';
import { auditTime, prepareAuditRecord } from './record.js';
import { emptyHead, type ChainHead } from './chain.js';
import { AuditRecordSchema, matches, type AuditInput, type AuditLog, type AuditPage, type AuditQuery, type AuditRecord } from './model.js';

/**
 * Local audit log: an append-only JSON-lines file holding ONE hash chain (chain.ts), opened with
 * O_APPEND and synced before a write is acknowledged, so an acknowledged record survives a crash.
 * On open it reads the tail to continue the chain across restarts. Appends are serialised in this
 * process (group commit); the file must have one writing process (the local stack). Queries scan
 * the file (newest first). `npx tsi audit verify` checks the chain and its checkpoints.
 */
const TAIL_CHUNK = 64 * 1024;

export class LocalFileAuditLog implements AuditLog {
  readonly kind = 'local' as const;
  private handle: Promise<FileHandle> | null = null;
  private readonly appender: ChainAppender<AuditRecord>;

  constructor(
    private readonly path: string,
    private readonly clock: Clock,
    /** Signed checkpoints of this file's chain, kept outside it (anchor.ts). */
    private readonly anchor?: ChainAnchor,
  ) {
    this.appender = new ChainAppender<AuditRecord>(
      {
        loadHead: () => this.readHead(),
        persist: async (records) => {
          const fh = await this.file();
          await fh.appendFile(records.map((r) => JSON.stringify(r) + '\n').join(''));
          await fh.datasync();
        },
      },
      { onDurable: (head) => this.anchor?.observe(head) },
    );
  }

  private file(): Promise<FileHandle> {
    this.handle ??= mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
      .then(() => open(this.path, 'a+', 0o600))
      .catch((error) => {
        this.handle = null;
        throw error;
      });
    return this.handle;
  }

  async write(input: AuditInput): Promise<void> {
    await this.append(input);
  }

  /** Like `write`, and returns the record as stored (with its chain fields). */
  append(input: AuditInput): Promise<AuditRecord> {
    const now = this.clock.now();
    return this.appender.append(prepareAuditRecord(input, newId('aud', now.getTime()), auditTime(input.time, now)));
  }

  /**
   * The chain's head from the file's last line. A trailing partial line is a write that was never
   * acknowledged (the process died before the sync returned): it is cut off so the chain goes on
   * from the last complete record. A file without a chained last record starts a new chain.
   */
  private async readHead(): Promise<ChainHead> {
    const fh = await this.file();
    const { size } = await fh.stat();
    let end = size;
    let tail = '';
    let pos = size;
    // Read backwards until the buffer holds the last complete line.
    while (pos > 0) {
      const len = Math.min(TAIL_CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      tail = buf.toString('utf8') + tail;
      const lastNl = tail.lastIndexOf('\n');
      if (lastNl >= 0 && tail.lastIndexOf('\n', lastNl - 1) >= 0) break;
    }
    const lastNl = tail.lastIndexOf('\n');
    if (lastNl < tail.length - 1) {
      end = size - Buffer.byteLength(tail.slice(lastNl + 1), 'utf8');
      await fh.truncate(end);
      await fh.datasync();
      tail = tail.slice(0, lastNl + 1);
    }
    const lines = tail.split('\n').filter((l) => l.trim());
    const last = safeJson(lines[lines.length - 1] ?? '');
    const parsed = AuditRecordSchema.safeParse(last);
    if (parsed.success && parsed.data.chain !== undefined && parsed.data.seq !== undefined && parsed.data.hash !== undefined) {
      return { chain: parsed.data.chain, seq: parsed.data.seq, hash: parsed.data.hash };
    }
    return emptyHead(newId('chain', this.clock.now().getTime()));
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    await this.appender.idle();
    const all: AuditRecord[] = [];
    try {
      const lines = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.trim()) continue;
        const parsed = AuditRecordSchema.safeParse(safeJson(line));
        if (parsed.success && matches(parsed.data, q)) all.push(parsed.data);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    all.reverse();
    const start = q.page_token ? all.findIndex((r) => r.id < q.page_token!) : 0;
    const from = start < 0 ? all.length : start;
    const items = all.slice(from, from + q.page_size);
    const last = items[items.length - 1];
    return { items, next_page_token: from + q.page_size < all.length && last ? last.id : null };
  }

  async ping(): Promise<void> {
    await this.file();
  }

  async close(): Promise<void> {
    await this.appender.idle();
    await this.anchor?.close();
    if (this.handle) await (await this.handle).close().catch(() => undefined);
    this.handle = null;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
