import type { DocumentSnapshot, Firestore, Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import { firestorePackage } from '../../store/firestore.js';
import type { AuditLog } from '../../audit/model.js';
import type { Clock } from '../../platform/clock.js';
import { exclusively } from '../../platform/job-lease.js';
import type { Logger } from '../../platform/logger.js';
import type { HoldSet, DeletionGate } from '../gate.js';
import { factsOf, type InvestigationFacts } from '../holds/model.js';
import { anonymisedInvestigation } from '../anonymise.js';
import { BatchWriter } from '../batch-writer.js';
import { eventInvestigation } from '../scan.js';
import { DAY_MS, TTL_LOOKAHEAD_DAYS, decide, type Candidate } from './plan.js';
import type { Policy, RetentionKind } from './policy.js';
import type { PolicyStore } from './store.js';

/**
 * The retention sweep: for each kind, pages through the records old enough to matter, asks the
 * pure planner what to do, and carries it out in batched writes (≤ 450 per commit). Idempotent:
 * a re-run finds nothing left to delete. Dry run: the same plan, no writes.
 */
export interface SweepOptions {
  dryRun?: boolean;
  kinds?: RetentionKind[];
  /** Records per page (and per audit record). */
  pageSize?: number;
  actor?: string;
  /** The request behind an on-demand sweep, so its audit records carry the same id, trace and source IP. */
  origin?: SweepOrigin;
}

export interface SweepOrigin {
  request_id: string | null;
  trace: string | null;
  source_ip: string | null;
}
const NO_REQUEST: SweepOrigin = { request_id: null, trace: null, source_ip: null };

export interface KindReport {
  kind: RetentionKind;
  action: Policy['action'];
  days: number;
  scanned: number;
  deleted: number;
  anonymised: number;
  blocked: number;
  stamped: number;
  unstamped: number;
  /** Up to 20 ids per outcome, for the dry run. */
  samples: { delete: string[]; anonymise: string[]; blocked: { id: string; holds: readonly string[] }[] };
}

export interface SweepReport {
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  kinds: KindReport[];
  /** Set when this sweep did not run because another one holds the sweep's lease (until then). */
  skipped?: { reason: 'another sweep is running'; until: string };
}

const TERMINAL = new Set(['closed', 'cancelled', 'failed']);

function iso(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof (v as { toDate?: () => Date }).toDate === 'function') return (v as { toDate(): Date }).toDate().toISOString();
  return typeof v === 'string' ? v : null;
}

/** Id below which every investigation was created before `ms` (ids are ULIDs: time first). */
export function idBoundary(prefix: string, ms: number): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let t = Math.max(0, Math.floor(ms));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = alphabet[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${out}`;
}

interface Source {
  kind: RetentionKind;
  /** Query over records whose retention could end by `horizon` (ISO), in a stable order. */
  query(db: Firestore, horizon: Date): Query;
  /** The record's retention facts; `parent` is its investigation's facts (read once per page). */
  candidate(doc: QueryDocumentSnapshot, parent: InvestigationFacts | null): Omit<Candidate, 'heldBy'>;
  /** The investigation the record belongs to (for its facts and the holds on it). */
  investigationOf(doc: QueryDocumentSnapshot): string | null;
  stampable: boolean;
}

function investigationSource(kind: RetentionKind, status: string): Source {
  return {
    kind,
    stampable: true,
    // Equality on status + id range/order: served by the (status, id desc) composite index.
    query: (db, horizon) => db.collection('investigations').where('status', '==', status).where('id', '<', idBoundary('inv', horizon.getTime())).orderBy('id', 'desc'),
    investigationOf: (doc) => doc.id,
    candidate(doc) {
      const d = doc.data();
      const decision = d.decision as { closed_at?: string } | null;
      return {
        anchor: (status === 'closed' && decision?.closed_at) || String(d.updated_at),
        expireAt: iso(d.expire_at),
        eligible: d.status === status,
        anonymised: d.anonymised_at !== undefined,
      };
    },
  };
}


const SOURCES: Source[] = [
  investigationSource('investigations.closed', 'closed'),
  investigationSource('investigations.cancelled', 'cancelled'),
  investigationSource('investigations.failed', 'failed'),
  {
    kind: 'comments',
    stampable: false, // a reopened investigation keeps its comments: eligibility changes with the parent
    // A plain collection-group scan (no filter): needs no index beyond the built-in one; the age
    // filter runs in the planner.
    query: (db) => db.collectionGroup('comments'),
    investigationOf: (doc) => doc.ref.parent.parent?.id ?? null,
    candidate(doc, parent) {
      return { anchor: String(doc.get('created_at')), expireAt: iso(doc.get('expire_at')), eligible: parent === null || TERMINAL.has(parent.status) };
    },
  },
  {
    kind: 'webhook_deliveries',
    stampable: true,
    query: (db, horizon) => db.collection('webhook_deliveries').where('created_at', '<', horizon.toISOString()).orderBy('created_at'),
    investigationOf: (doc) => eventInvestigation(doc.get('payload')),
    candidate(doc) {
      // Pending deliveries are still work: only settled ones age out.
      return { anchor: String(doc.get('created_at')), expireAt: iso(doc.get('expire_at')), eligible: doc.get('status') !== 'pending' };
    },
  },
  {
    kind: 'idempotency_keys',
    stampable: true,
    query: (db, horizon) => db.collection('idempotency_keys').where('created_at', '<', horizon.toISOString()).orderBy('created_at'),
    investigationOf: (doc) => (doc.get('investigation_id') as string | undefined) ?? null,
    candidate(doc) {
      return { anchor: String(doc.get('created_at')), expireAt: iso(doc.get('expire_at')), eligible: true };
    },
  },
  {
    kind: 'outbox',
    stampable: true,
    query: (db, horizon) => db.collection('outbox').where('created_at', '<', horizon.toISOString()).orderBy('created_at'),
    investigationOf: (doc) => eventInvestigation(doc.get('event')),
    candidate(doc) {
      return { anchor: String(doc.get('created_at')), expireAt: iso(doc.get('expire_at')), eligible: doc.get('published_at') !== null && doc.get('published_at') !== undefined };
    },
  },
];

export interface SweepDeps {
  db: Firestore;
  policies: PolicyStore;
  gate: DeletionGate;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
}

/**
 * One sweep at a time across every instance (shared/platform/job-lease.ts): a sweep that finds
 * another running skips and says so. A dry run writes nothing, so it needs no lease.
 */
export async function sweep(deps: SweepDeps, options: SweepOptions = {}): Promise<SweepReport> {
  if (options.dryRun) return sweepNow(deps, options);
  const started = deps.clock.now().toISOString();
  const run = await exclusively(deps.db, 'retention-sweep', { clock: deps.clock, logger: deps.logger }, () => sweepNow(deps, options));
  if (run.ran) return run.value;
  return { dry_run: false, started_at: started, finished_at: deps.clock.now().toISOString(), kinds: [], skipped: { reason: 'another sweep is running', until: run.until } };
}

async function sweepNow(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const started = deps.clock.now();
  const dry = options.dryRun ?? false;
  const pageSize = options.pageSize ?? 1000;
  const actor = options.actor ?? 'system:retention';
  const origin = options.origin ?? NO_REQUEST;
  const policies = await deps.policies.all();
  // One snapshot of the holds for the whole sweep: a hold placed meanwhile is honoured on the
  // next sweep, and its placement already took the TTL stamps off what it covers.
  const holds = await deps.gate.snapshot();
  const reports: KindReport[] = [];
  for (const source of SOURCES) {
    if (options.kinds && !options.kinds.includes(source.kind)) continue;
    const policy = policies[source.kind];
    if (policy.action === 'external') continue;
    reports.push(await sweepKind(deps, source, policy, holds, { dry, pageSize, actor, origin, now: started }));
  }
  if (options.kinds === undefined || options.kinds.includes('audit')) {
    const p = policies.audit;
    reports.push({ kind: 'audit', action: p.action, days: p.days, scanned: 0, deleted: 0, anonymised: 0, blocked: 0, stamped: 0, unstamped: 0, samples: { delete: [], anonymise: [], blocked: [] } });
  }
  const report: SweepReport = { dry_run: dry, started_at: started.toISOString(), finished_at: deps.clock.now().toISOString(), kinds: reports };
  await deps.audit.write({
    actor,
    roles: [],
    action: dry ? 'retention.dry_run' : 'retention.sweep',
    resource: 'retention',
    outcome: 'allowed',
    reason: null,
    ...origin,
    details: { kinds: reports.map(({ samples: _s, ...r }) => r) },
  });
  return report;
}

async function sweepKind(
  deps: SweepDeps,
  source: Source,
  policy: Policy,
  holds: HoldSet,
  o: { dry: boolean; pageSize: number; actor: string; origin: SweepOrigin; now: Date },
): Promise<KindReport> {
  const r: KindReport = { kind: source.kind, action: policy.action, days: policy.days, scanned: 0, deleted: 0, anonymised: 0, blocked: 0, stamped: 0, unstamped: 0, samples: { delete: [], anonymise: [], blocked: [] } };
  // Everything whose retention ends before now + lookahead: delete what is due, stamp the rest.
  const horizon = new Date(o.now.getTime() - policy.days * DAY_MS + TTL_LOOKAHEAD_DAYS * DAY_MS);
  const writer = new BatchWriter(deps.db);
  let after: QueryDocumentSnapshot | null = null;
  for (;;) {
    let q = source.query(deps.db, horizon).limit(o.pageSize);
    if (after) q = q.startAfter(after);
    const page = await q.get();
    if (page.empty) break;
    after = page.docs[page.docs.length - 1]!;
    r.scanned += page.size;
    // Each record's investigation, worked out once (for deliveries and the outbox it parses JSON).
    const parents = page.docs.map((d) => source.investigationOf(d));
    const facts = await loadFacts(deps.db, source, page.docs, parents);
    const deletedIds: string[] = [];
    const blocked: { record: string; legal_holds: readonly string[] }[] = [];
    const gone: QueryDocumentSnapshot[] = [];
    for (const [i, doc] of page.docs.entries()) {
      const inv = parents[i];
      const f = (inv && facts.get(inv)) || null;
      const c = source.candidate(doc, f);
      const heldBy = f ? holds.covering({ kind: 'investigation', investigation: f }).map((h) => h.id) : [];
      const d = decide({ ...c, heldBy }, policy, o.now);
      const label = doc.ref.path;
      switch (d.do) {
        case 'delete':
          r.deleted++;
          if (r.samples.delete.length < 20) r.samples.delete.push(label);
          if (!o.dry) await deleteRecord(writer, source.kind, doc);
          gone.push(doc);
          deletedIds.push(label);
          break;
        case 'anonymise':
          r.anonymised++;
          if (r.samples.anonymise.length < 20) r.samples.anonymise.push(label);
          if (!o.dry) await anonymiseRecord(writer, doc, o.now);
          gone.push(doc);
          deletedIds.push(label);
          break;
        case 'blocked':
          r.blocked++;
          if (r.samples.blocked.length < 20) r.samples.blocked.push({ id: label, holds: d.holds });
          if (!o.dry && d.unstamp) await writer.update(doc.ref, { expire_at: firestorePackage().FieldValue.delete() });
          blocked.push({ record: label, legal_holds: d.holds });
          break;
        case 'stamp':
          if (!source.stampable) break;
          r.stamped++;
          if (!o.dry) await writer.update(doc.ref, { expire_at: new Date(d.expireAt) });
          break;
        case 'unstamp':
          r.unstamped++;
          if (!o.dry) await writer.update(doc.ref, { expire_at: firestorePackage().FieldValue.delete() });
          break;
        case 'none':
          break;
      }
    }
    if (!o.dry) {
      if (source.kind.startsWith('investigations.') && gone.length) await deleteStoredResponses(deps.db, writer, gone.map((g) => g.id));
      await writer.flush();
      // Deletions a hold blocked: audited, one record per page naming every record and hold.
      if (blocked.length) {
        await deps.audit.write({
          actor: o.actor,
          roles: [],
          action: 'legal_hold.blocked_deletion',
          resource: `retention/${source.kind}`,
          outcome: 'rejected',
          reason: `legal hold ${[...new Set(blocked.flatMap((b) => b.legal_holds))].join(', ')}`,
          ...o.origin,
          details: { path: `retention.${source.kind}`, records: blocked },
        });
      }
      // Each deletion is audited (one record per committed page, naming every record).
      if (deletedIds.length) {
        await deps.audit.write({
          actor: o.actor,
          roles: [],
          action: policy.action === 'anonymise' ? 'retention.anonymise' : 'retention.delete',
          resource: `retention/${source.kind}`,
          outcome: 'allowed',
          reason: `past retention (${policy.days} days)`,
          ...o.origin,
          details: { kind: source.kind, records: deletedIds },
        });
      }
    }
    if (page.size < o.pageSize) break;
  }
  deps.logger.info('retention kind swept', { kind: r.kind, dry_run: o.dry, scanned: r.scanned, deleted: r.deleted, anonymised: r.anonymised, blocked: r.blocked, stamped: r.stamped });
  return r;
}

async function loadFacts(db: Firestore, source: Source, docs: QueryDocumentSnapshot[], parents: (string | null)[]): Promise<Map<string, InvestigationFacts>> {
  const out = new Map<string, InvestigationFacts>();
  if (source.kind.startsWith('investigations.')) {
    for (const d of docs) out.set(d.id, factsOf(d.data()));
    return out;
  }
  const ids = [...new Set(parents.filter((x): x is string => x !== null))];
  for (let i = 0; i < ids.length; i += 300) {
    const snaps: DocumentSnapshot[] = await db.getAll(...ids.slice(i, i + 300).map((id) => db.collection('investigations').doc(id)));
    for (const s of snaps) if (s.exists) out.set(s.id, factsOf(s.data()!));
  }
  return out;
}

async function deleteRecord(writer: BatchWriter, kind: RetentionKind, doc: QueryDocumentSnapshot): Promise<void> {
  // An investigation goes with its comments (its stored API responses: deleteStoredResponses).
  if (kind.startsWith('investigations.') && Number(doc.get('comments_count') ?? 0) > 0) {
    const comments = await doc.ref.collection('comments').get();
    for (const c of comments.docs) await writer.delete(c.ref);
  }
  if (kind === 'webhook_deliveries') {
    const attempts = await doc.ref.firestore.collection('webhook_attempts').where('delivery_id', '==', doc.id).get();
    for (const a of attempts.docs) await writer.delete(a.ref);
  }
  await writer.delete(doc.ref);
}

/** Stored API responses of deleted investigations, looked up 30 ids per query. */
async function deleteStoredResponses(db: Firestore, writer: BatchWriter, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 30) {
    const idem = await db.collection('idempotency_keys').where('investigation_id', 'in', ids.slice(i, i + 30)).get();
    for (const d of idem.docs) await writer.delete(d.ref);
  }
}

async function anonymiseRecord(writer: BatchWriter, doc: QueryDocumentSnapshot, now: Date): Promise<void> {
  const comments = await doc.ref.collection('comments').get();
  for (const c of comments.docs) await writer.delete(c.ref);
  await writer.set(doc.ref, anonymisedInvestigation(doc.data(), now, 'retention'));
}
