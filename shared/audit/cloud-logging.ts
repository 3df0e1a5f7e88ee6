import type { Log, Logging } from '@google-cloud/logging';
import type { Clock } from '../platform/clock.js';
import { newId } from '../platform/ids.js';
import type { ChainAnchor } from './anchor.js';
import { ChainAppender } from './appender.js';
import { emptyHead } from './chain.js';
import { auditTime, prepareAuditRecord } from './record.js';
import { AuditRecordSchema, type AuditInput, type AuditLog, type AuditPage, type AuditQuery, type AuditRecord } from './model.js';

/**
 * Production audit log: a dedicated Cloud Logging log (routed by a sink to a bucket with locked
 * retention, see terraform). Queries use the Logging API's filter language.
 *
 * Hash chain (chain.ts): many instances write concurrently and Cloud Logging has no conditional
 * append, so each instance writes its own chain, id `<service>/<ULID at start>`, serialised in
 * process. Entries of a batch go in one `entries.write` call (all or nothing), so a failed write
 * leaves no gap. Each entry's `insertId` is `<chain>/<seq, 12 digits>` and its timestamp never goes
 * backwards within a chain, so Logging's order (timestamp, insertId) is the chain order; the
 * verifier reads a chain back with `jsonPayload.chain="…"` ordered by timestamp. The locked
 * bucket keeps every entry for the retention period: nobody, including the project owner, can
 * delete or change one; signed checkpoints of each instance's chain go to a separate bucket with
 * locked retention (anchor.ts), so `tsi audit verify` also catches a truncated or recomputed
 * export.
 */
export class CloudLoggingAuditLog implements AuditLog {
  readonly kind = 'cloud-logging' as const;
  private client: { logging: Logging; log: Log } | null = null;
  readonly chainId: string;
  private lastTime = '';
  private readonly appender: ChainAppender<AuditRecord>;

  constructor(
    private readonly opts: {
      projectId: string;
      logName: string;
      clock: Clock;
      instance?: string;
      /** A ready client (tests point its transport at a stand-in); built lazily when omitted. */
      logging?: Logging;
      /** Signed checkpoints of this instance's chain in the checkpoint bucket (anchor.ts). */
      anchor?: ChainAnchor;
    },
  ) {
    this.chainId = `${opts.instance ?? 'tsi'}/${newId('chain', opts.clock.now().getTime())}`;
    const head = emptyHead(this.chainId);
    this.appender = new ChainAppender<AuditRecord>(
      {
        // Nothing to read back: a new instance starts a new chain, and a failed batch wrote nothing.
        loadHead: async () => this.appender.peekHead() ?? head,
        persist: async (records) => {
          const { log } = await this.get();
          await log.write(records.map((record) => this.entry(log, record)));
        },
      },
      { onDurable: (h) => this.opts.anchor?.observe(h) },
    );
  }

  private entry(log: Log, record: AuditRecord) {
    return log.entry(
      {
        severity: record.outcome === 'allowed' ? 'INFO' : 'NOTICE',
        timestamp: new Date(record.time),
        insertId: `${record.chain}/${String(record.seq).padStart(12, '0')}`,
        labels: { action: record.action, outcome: record.outcome, audit_chain: record.chain ?? '' },
        ...(record.trace ? { trace: `projects/${this.opts.projectId}/traces/${record.trace}` } : {}),
      },
      record,
    );
  }

  private async get(): Promise<{ logging: Logging; log: Log }> {
    if (!this.client) {
      const logging = this.opts.logging ?? new (await import('@google-cloud/logging')).Logging({ projectId: this.opts.projectId });
      // The library's default is partialSuccess (drop bad entries, keep the rest): a gap in the chain.
      // It still forces it for its one-off diagnostic entry on a process's first write.
      this.client = { logging, log: logging.log(this.opts.logName, { partialSuccess: false }) };
    }
    return this.client;
  }

  async write(input: AuditInput): Promise<void> {
    await this.append(input);
  }

  append(input: AuditInput): Promise<AuditRecord> {
    // Never backwards within the chain, so timestamp order is chain order.
    const now = auditTime(input.time, this.opts.clock.now());
    const time = now < this.lastTime ? this.lastTime : now;
    this.lastTime = time;
    return this.appender.append(prepareAuditRecord(input, newId('aud', this.opts.clock.now().getTime()), time));
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const { logging } = await this.get();
    const clauses = [`logName="projects/${this.opts.projectId}/logs/${encodeURIComponent(this.opts.logName)}"`];
    if (q.actor) clauses.push(`jsonPayload.actor=${JSON.stringify(q.actor.toLowerCase())}`);
    if (q.resource) clauses.push(`jsonPayload.resource=${JSON.stringify(q.resource)}`);
    if (q.action) clauses.push(`jsonPayload.action=${JSON.stringify(q.action)}`);
    if (q.from) clauses.push(`timestamp>="${new Date(q.from).toISOString()}"`);
    if (q.to) clauses.push(`timestamp<="${new Date(q.to).toISOString()}"`);
    const [entries, , response] = await logging.getEntries({
      filter: clauses.join(' AND '),
      orderBy: 'timestamp desc',
      pageSize: q.page_size,
      ...(q.page_token ? { pageToken: q.page_token } : {}),
      autoPaginate: false,
    });
    const items = entries.map((e) => AuditRecordSchema.safeParse(e.data)).filter((p) => p.success).map((p) => p.data);
    const next = (response as { nextPageToken?: string } | undefined)?.nextPageToken ?? null;
    return { items, next_page_token: next };
  }

  async ping(): Promise<void> {
    await this.get();
  }

  /** Clean shutdown: pending entries written, the chain's last head checkpointed. */
  async close(): Promise<void> {
    await this.appender.idle();
    await this.opts.anchor?.close();
  }
}
