import type { Log, Logging } from '@google-cloud/logging';
import type { Clock } from '../platform/clock.js';
import { newId } from '../platform/ids.js';
import { redact } from '../platform/redact.js';
import { AuditRecordSchema, type AuditInput, type AuditLog, type AuditPage, type AuditQuery, type AuditRecord } from './model.js';

/**
 * Production audit log: a dedicated Cloud Logging log (routed by a sink to a locked bucket, see
 * terraform). Queries use the Logging API's filter language.
 */
export class CloudLoggingAuditLog implements AuditLog {
  readonly kind = 'cloud-logging' as const;
  private client: { logging: Logging; log: Log } | null = null;

  constructor(private readonly opts: { projectId: string; logName: string; clock: Clock }) {}

  private async get(): Promise<{ logging: Logging; log: Log }> {
    if (!this.client) {
      const { Logging } = await import('@google-cloud/logging');
      const logging = new Logging({ projectId: this.opts.projectId });
      this.client = { logging, log: logging.log(this.opts.logName) };
    }
    return this.client;
  }

  async write(input: AuditInput): Promise<void> {
    const { log } = await this.get();
    const record: AuditRecord = {
      ...input,
      id: newId('aud', this.opts.clock.now().getTime()),
      time: input.time ?? this.opts.clock.now().toISOString(),
      actor: input.actor?.toLowerCase() ?? null,
      ...(input.details ? { details: redact(input.details) as Record<string, unknown> } : {}),
    };
    const entry = log.entry(
      {
        severity: record.outcome === 'allowed' ? 'INFO' : 'NOTICE',
        labels: { action: record.action, outcome: record.outcome },
        ...(record.trace ? { trace: `projects/${this.opts.projectId}/traces/${record.trace}` } : {}),
      },
      record,
    );
    await log.write(entry);
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
}
