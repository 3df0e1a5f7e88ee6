import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../platform/clock.js';
import { newId } from '../platform/ids.js';
import { redact } from '../platform/redact.js';
import { AuditRecordSchema, matches, type AuditInput, type AuditLog, type AuditPage, type AuditQuery, type AuditRecord } from './model.js';

/**
 * Local audit log: an append-only JSON-lines file, opened with O_APPEND and synced on each write
 * so an acknowledged record survives a crash. Queries scan the file (newest first).
 */
export class LocalFileAuditLog implements AuditLog {
  readonly kind = 'local' as const;
  private handle: Promise<FileHandle> | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly clock: Clock) {}

  private file(): Promise<FileHandle> {
    this.handle ??= mkdir(dirname(this.path), { recursive: true, mode: 0o700 }).then(() => open(this.path, 'a', 0o600));
    return this.handle;
  }

  write(input: AuditInput): Promise<void> {
    const record: AuditRecord = {
      ...input,
      id: newId('aud', this.clock.now().getTime()),
      time: input.time ?? this.clock.now().toISOString(),
      actor: input.actor?.toLowerCase() ?? null,
      ...(input.details ? { details: redact(input.details) as Record<string, unknown> } : {}),
    };
    // Serialise appends so lines never interleave and order follows acknowledgement.
    const next = this.queue.then(async () => {
      const fh = await this.file();
      await fh.appendFile(JSON.stringify(record) + '\n');
      await fh.datasync();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    await this.queue;
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
    await this.queue;
    if (this.handle) await (await this.handle).close();
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
