import type { DocumentReference, Firestore, Query, Transaction } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IdempotencyConflictError, NotFoundError } from '../platform/errors.js';
import type { PlatformEvent } from '../events/model.js';
import { RecommendedActionSchema, RiskAssessmentSchema } from '../agent/model.js';
import { InvestigationDocSchema, isSealedSubject, type CommentDoc, type InvestigationDoc, type ListQuery, type Subject } from './model.js';
import type { InvestigationPii } from './pii.js';
import type { Status } from './state-machine.js';
import { systemClock, type Clock } from '../platform/clock.js';
import { isExpired } from '../compliance/retention/plan.js';
import { checkPrecondition, type Precondition } from '../platform/precondition.js';

/**
 * Firestore persistence for investigations. Every state change is a transaction that also writes
 * its events to the outbox, so an event is never lost and never published for a change that did
 * not commit.
 */
export const COLLECTIONS = {
  investigations: 'investigations',
  comments: 'comments',
  outbox: 'outbox',
  idempotency: 'idempotency_keys',
} as const;

export interface OutboxEntry {
  event: PlatformEvent;
  created_at: string;
  published_at: string | null;
}

export interface Mutation {
  doc: InvestigationDoc;
  events: PlatformEvent[];
}

/**
 * The fields a list reads: what the summary shows, and what visibility (`canSee`) and TTL need.
 * Scalars where the summary needs one (risk score, action, findings count), not the objects and
 * arrays behind them: the emulator and Firestore cost per value sent.
 */
export const LISTED_FIELDS = ['id', 'status', 'subject', 'sensitivity', 'created_by', 'team', 'created_at', 'updated_at', 'assignee', 'risk.score', 'recommended_action.action', 'findings_count', 'expire_at'] as const;

export const ListedInvestigationSchema = InvestigationDocSchema.pick({
  id: true,
  status: true,
  subject: true,
  sensitivity: true,
  created_by: true,
  team: true,
  created_at: true,
  updated_at: true,
  assignee: true,
  findings_count: true,
}).extend({
  // A projected sub-field of a null (or absent) object comes back absent.
  risk: RiskAssessmentSchema.pick({ score: true }).nullish().transform((v) => v ?? null),
  recommended_action: RecommendedActionSchema.pick({ action: true }).nullish().transform((v) => v ?? null),
});
export type ListedInvestigation = z.infer<typeof ListedInvestigationSchema>;

/** A listed investigation whose findings were counted. */
export type CountedInvestigation = ListedInvestigation & { findings_count: number };

/** What a committed `commit` did. */
export interface Committed {
  doc: InvestigationDoc;
  events: PlatformEvent[];
  changed: boolean;
}

export interface IdempotentCreate {
  key: string;
  actor: string;
  requestHash: string;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export class InvestigationStore {
  /**
   * `pii` seals personal data before every write (docs/decisions/0011); without it the store can
   * read and query but refuses to write a document holding personal data in clear.
   */
  constructor(
    private readonly db: Firestore,
    private readonly pii?: InvestigationPii,
    /** For read-time TTL filtering: a document whose `expire_at` passed is gone (shared/compliance). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** The document as stored: subject and question sealed (documents written before encryption get sealed on their next write). */
  private async sealed(doc: InvestigationDoc): Promise<InvestigationDoc> {
    // Derived on every write (create, commit, comment) so it can never disagree with the findings.
    if (doc.findings_count !== doc.findings.length) doc = { ...doc, findings_count: doc.findings.length };
    if (isSealedSubject(doc.subject) && doc.question === null) return doc;
    if (!this.pii) throw new Error('InvestigationStore has no data protection: refusing to store personal data in clear');
    return this.pii.seal(doc);
  }

  /** Seals outside the transaction, keys checked live inside it (pii.ts); without pii, already-sealed documents only. */
  private sealedTransaction<R>(doc: InvestigationDoc, write: (tx: Transaction, doc: InvestigationDoc) => Promise<R>): Promise<R> {
    if (this.pii) return this.pii.transaction(this.db, doc, write);
    return this.sealed(doc).then((sealed) => this.db.runTransaction((tx) => write(tx, sealed)));
  }

  private requirePii(): InvestigationPii {
    if (!this.pii) throw new Error('InvestigationStore has no data protection configured');
    return this.pii;
  }

  /** A copy with the subject value and/or question decrypted, for a reader allowed to see them. */
  async reveal(doc: InvestigationDoc, what: { subject: boolean; question: boolean }): Promise<InvestigationDoc> {
    if (!what.subject && !what.question) return doc;
    return this.requirePii().reveal(doc, what);
  }

  /** The subject and question in clear, for the worker; SubjectErasedError once the subject was erased. */
  forRun(doc: InvestigationDoc): Promise<{ subject: Subject; question: string | null }> {
    return this.requirePii().forRun(doc);
  }

  /** Keyed blind index of a subject (`subject.index` of its investigations). */
  subjectIndex(subject: Pick<Subject, 'type' | 'value'>): Promise<string> {
    return this.requirePii().subjectIndex(subject);
  }

  /** Every investigation about a subject, by blind index (newest first; equality on one field, no composite index). */
  async findBySubject(subject: Pick<Subject, 'type' | 'value'>, limit = 500): Promise<InvestigationDoc[]> {
    const index = await this.subjectIndex(subject);
    const snap = await this.db.collection(COLLECTIONS.investigations).where('subject.index', '==', index).limit(limit).get();
    return snap.docs.map((d) => this.read(d.data())).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  private ref(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.investigations).doc(id);
  }

  private read(data: unknown): InvestigationDoc {
    return InvestigationDocSchema.parse(data);
  }

  private writeOutbox(tx: Transaction, events: PlatformEvent[], now: string): void {
    for (const event of events) {
      tx.create(this.db.collection(COLLECTIONS.outbox).doc(event.id), { event: JSON.parse(JSON.stringify(event)), created_at: now, published_at: null });
    }
  }

  private idemRef(idem: IdempotentCreate): DocumentReference {
    const id = createHash('sha256').update(`${idem.actor}\n${idem.key}`).digest('hex');
    return this.db.collection(COLLECTIONS.idempotency).doc(id);
  }

  /**
   * Creates an investigation with its events; with an idempotency key, a repeat of the same
   * request returns the first response instead, and a different body under the same key is 422.
   */
  async create(
    doc: InvestigationDoc,
    events: PlatformEvent[],
    response: (doc: InvestigationDoc) => StoredResponse,
    idem?: IdempotentCreate,
  ): Promise<{ replayed: boolean; response: StoredResponse }> {
    // Sealed outside the transaction (encryption may call KMS or create the subject's key); the
    // key is checked live inside it, so nothing is stored under a key another instance destroyed.
    return this.sealedTransaction(doc, async (tx, doc) => {
      if (idem) {
        const existing = await tx.get(this.idemRef(idem));
        if (existing.exists) {
          const data = existing.data() as { request_hash: string; status: number; body: string };
          if (data.request_hash !== idem.requestHash) throw new IdempotencyConflictError();
          return { replayed: true, response: { status: data.status, body: JSON.parse(data.body) } };
        }
      }
      const stored = response(doc);
      tx.create(this.ref(doc.id), doc);
      this.writeOutbox(tx, events, doc.created_at);
      if (idem) {
        tx.create(this.idemRef(idem), {
          request_hash: idem.requestHash,
          status: stored.status,
          body: JSON.stringify(stored.body),
          investigation_id: doc.id,
          created_at: doc.created_at,
        });
      }
      return { replayed: false, response: stored };
    });
  }

  async get(id: string): Promise<InvestigationDoc | null> {
    const snap = await this.ref(id).get();
    return snap.exists && !isExpired(snap.data(), this.clock.now()) ? this.read(snap.data()) : null;
  }

  /**
   * Applies `change` to the current document inside a transaction. `change` is pure: it returns
   * the new document and the events to emit, or null to leave everything untouched, or throws.
   * With a precondition (If-Match), it is checked against the version read in the transaction.
   */
  async mutate(id: string, change: (doc: InvestigationDoc) => Mutation | null, expect?: Precondition | null): Promise<InvestigationDoc> {
    return (await this.commit(id, change, expect)).doc;
  }

  /**
   * `mutate`, answering what the committed attempt did: its document, its events (already in the
   * outbox, to publish now) and whether it changed anything. A transaction may run `change` more
   * than once (contention retries): only the attempt that committed counts, so callers act on
   * this result, never on values captured inside `change`.
   */
  async commit(id: string, change: (doc: InvestigationDoc) => Mutation | null, expect?: Precondition | null): Promise<Committed> {
    return this.db.runTransaction(async (tx): Promise<Committed> => {
      const snap = await tx.get(this.ref(id));
      if (!snap.exists) throw new NotFoundError('Investigation');
      const current = this.read(snap.data());
      checkPrecondition(expect, { id: current.id, updated_at: current.updated_at });
      const result = change(current);
      if (!result) return { doc: current, events: [], changed: false };
      const next = await this.sealed(result.doc);
      tx.set(this.ref(id), next);
      this.writeOutbox(tx, result.events, next.updated_at);
      return { doc: next, events: result.events, changed: true };
    });
  }

  /** Adds a comment and applies `change` in one transaction; answers the committed attempt's events. */
  async addComment(id: string, comment: CommentDoc, change: (doc: InvestigationDoc) => Mutation): Promise<PlatformEvent[]> {
    // The body is sealed under the subject's key outside the transaction (pii.ts), so read whose first.
    const before = await this.ref(id).get();
    if (!before.exists) throw new NotFoundError('Investigation');
    return this.requirePii().commentTransaction(this.db, this.read(before.data()), comment, async (tx, stored) => {
      const snap = await tx.get(this.ref(id));
      if (!snap.exists) throw new NotFoundError('Investigation');
      const result = change(this.read(snap.data()));
      tx.set(this.ref(id), await this.sealed(result.doc));
      tx.create(this.ref(id).collection(COLLECTIONS.comments).doc(comment.id), stored);
      this.writeOutbox(tx, result.events, comment.created_at);
      return result.events;
    });
  }

  async listComments(id: string, limit = 200): Promise<CommentDoc[]> {
    const snap = await this.ref(id).collection(COLLECTIONS.comments).orderBy('id', 'asc').limit(limit).get();
    return Promise.all(snap.docs.map((d) => this.requirePii().revealComment(id, d.data())));
  }

  /**
   * Newest first, keyset-paginated on the sortable id (cursor = last id seen). Filters are
   * equality filters, each backed by a composite index (terraform/firestore.indexes.json).
   * Reads only what a list shows and filters on (LISTED_FIELDS): a finished investigation's steps,
   * lineage and history are ~90 % of its bytes, and reading them made a page of 100 cost ~20
   * single reads (docs/decisions/0049).
   */
  async list(q: Pick<ListQuery, 'status' | 'created_by' | 'assignee'>, limit: number, after?: string): Promise<CountedInvestigation[]> {
    let query: Query = this.db.collection(COLLECTIONS.investigations);
    if (q.status) query = query.where('status', '==', q.status);
    if (q.created_by) query = query.where('created_by', '==', q.created_by);
    if (q.assignee) query = query.where('assignee', '==', q.assignee);
    if (after) query = query.where('id', '<', after);
    const snap = await query.orderBy('id', 'desc').select(...LISTED_FIELDS).limit(limit).get();
    const now = this.clock.now();
    // data() decodes the document each time it is called: once per item.
    const listed = snap.docs.map((d) => d.data()).filter((data) => !isExpired(data, now)).map((data) => ListedInvestigationSchema.parse(data));
    return this.counted(listed);
  }

  /** Documents written before `findings_count` existed: their findings are counted from one batched read. */
  private async counted(items: ListedInvestigation[]): Promise<CountedInvestigation[]> {
    const uncounted = items.filter((i) => i.findings_count === undefined);
    const counts = new Map<string, number>();
    if (uncounted.length) {
      const snaps = await this.db.getAll(...uncounted.map((i) => this.ref(i.id)), { fieldMask: ['findings'] });
      for (const snap of snaps) counts.set(snap.id, ((snap.get('findings') as unknown[] | undefined) ?? []).length);
    }
    return items.map((i) => ({ ...i, findings_count: i.findings_count ?? counts.get(i.id) ?? 0 }));
  }

  /** `reveal` for listed items: only the subject of each (the question is not listed). */
  async revealSubjects<T extends ListedInvestigation>(items: T[]): Promise<T[]> {
    const pii = this.requirePii();
    // The subject envelope is all `reveal` reads of the document when only the subject is asked for.
    // (InvestigationPii.reveal takes a whole document type; asked for the subject only it reads `id` and `subject`.)
    return Promise.all(items.map(async (item) => ({ ...item, subject: (await pii.reveal({ id: item.id, subject: item.subject } as unknown as InvestigationDoc, { subject: true, question: false })).subject })));
  }

  async findByStatus(status: Status, field: 'lease_expires' | 'updated_at', before: string, limit: number): Promise<InvestigationDoc[]> {
    const snap = await this.db.collection(COLLECTIONS.investigations).where('status', '==', status).limit(500).get();
    // In-flight work is a small set by construction, so the time filter runs here and the query
    // needs only the single-field index on status.
    return snap.docs
      .map((d) => this.read(d.data()))
      .filter((d) => (field === 'lease_expires' ? (d.lease?.expires_at ?? '') < before : d.updated_at < before))
      .slice(0, limit);
  }

  async pendingOutbox(createdBefore: string, limit: number): Promise<OutboxEntry[]> {
    const snap = await this.db.collection(COLLECTIONS.outbox).where('published_at', '==', null).limit(limit * 4).get();
    return snap.docs
      .map((d) => d.data() as OutboxEntry)
      .filter((e) => e.created_at < createdBefore)
      .sort((a, b) => a.created_at.localeCompare(b.created_at))
      .slice(0, limit);
  }

  async markPublished(eventIds: string[], at: string): Promise<void> {
    for (let i = 0; i < eventIds.length; i += 400) {
      const batch = this.db.batch();
      for (const id of eventIds.slice(i, i + 400)) batch.update(this.db.collection(COLLECTIONS.outbox).doc(id), { published_at: at });
      await batch.commit();
    }
  }

  async ping(): Promise<void> {
    await this.db.collection(COLLECTIONS.investigations).limit(1).get();
  }
}
