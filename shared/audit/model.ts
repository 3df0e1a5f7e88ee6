import { z } from 'zod';

/** One audit record. Never holds tokens, secrets or raw personal data (the writer redacts: record.ts). */
export const AuditRecordSchema = z.object({
  id: z.string(),
  time: z.string(),
  actor: z.string().nullable(),
  /** The staff principal the action changes (e.g. whose role binding), an identity like `actor`. */
  principal: z.string().optional(),
  roles: z.array(z.string()),
  action: z.string(),
  resource: z.string().nullable(),
  outcome: z.enum(['allowed', 'denied', 'rejected', 'failed']),
  reason: z.string().nullable(),
  request_id: z.string().nullable(),
  trace: z.string().nullable(),
  source_ip: z.string().nullable(),
  method: z.string().optional(),
  path: z.string().optional(),
  status: z.number().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  /** Hash chain (chain.ts): absent only on records written before the chain existed. */
  chain: z.string().optional(),
  seq: z.number().int().min(0).optional(),
  prev_hash: z.string().optional(),
  hash: z.string().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;
export type AuditInput = Omit<AuditRecord, 'id' | 'time' | 'chain' | 'seq' | 'prev_hash' | 'hash'> & { time?: string };

export const AuditQuerySchema = z.object({
  actor: z.string().max(320).optional(),
  resource: z.string().max(256).optional(),
  action: z.string().max(128).optional(),
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
  page_size: z.coerce.number().int().min(1).max(500).default(100),
  page_token: z.string().max(512).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export interface AuditPage {
  items: AuditRecord[];
  next_page_token: string | null;
}

export interface AuditLog {
  readonly kind: 'local' | 'cloud-logging';
  write(record: AuditInput): Promise<void>;
  query(query: AuditQuery): Promise<AuditPage>;
  ping(): Promise<void>;
}

/** Pure filter shared by adapters that filter in process. */
export function matches(record: AuditRecord, q: AuditQuery): boolean {
  if (q.actor && record.actor !== q.actor.toLowerCase()) return false;
  if (q.resource && record.resource !== q.resource) return false;
  if (q.action && record.action !== q.action) return false;
  if (q.from && record.time < new Date(q.from).toISOString()) return false;
  if (q.to && record.time > new Date(q.to).toISOString()) return false;
  return true;
}
