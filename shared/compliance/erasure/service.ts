import type { Firestore } from '@google-cloud/firestore';
import type { AuditLog } from '../../audit/model.js';
import { EventTypes, makeEvent, type PlatformEvent } from '../../events/model.js';
import type { EventPublisher } from '../../events/port.js';
import type { Subject } from '../../investigations/model.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { auditOrigin, systemActor, type RequestActor } from '../actor.js';
import type { DeletionGate } from '../gate.js';
import type { SubjectCrypto } from '../subject-crypto.js';
import { envelopeKey } from '../../crypto/envelope.js';
import { applyErasure, blockingHolds, planErasure, type ErasePlan } from './erase.js';
import type { Vault } from './vault.js';
import { ERASURE_COLLECTION, ErasureDocSchema, dueDate, erasureTransition, type ErasureAction, type ErasureDoc, type ErasureStatus, type Receipt, type StoreCount } from './model.js';

export interface ErasureServiceDeps {
  db: Firestore;
  crypto: SubjectCrypto;
  gate: DeletionGate;
  audit: AuditLog;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  /** How long the longest-kept backup lives (its ciphertext stays, unreadable, until then). */
  backupRetentionDays: number;
  /** The erasure ledger and the key escrow of backups, outside the database (docs/decisions/0035). */
  vault: Vault;
}

/** Firestore point-in-time recovery and its daily managed backups keep document versions this long at most. */
export const FIRESTORE_HISTORY_DAYS = 7;

/** The sealed subject's key generation of a stored investigation (0 when it has none). */
function sealedGeneration(data: Record<string, unknown>): number {
  const sealed = (data.subject as { sealed?: unknown } | undefined)?.sealed;
  if (typeof sealed !== 'string') return 0;
  try {
    return envelopeKey(sealed).generation;
  } catch {
    return 0;
  }
}

/**
 * What a second look after the key's destruction must still erase: investigations about the
 * subject written during the run (another instance) under the destroyed generation, and comments
 * added meanwhile to investigations about the subject. Later writes got a fresh key and a
 * mention-free plan; they stay.
 */
function lateWrites(plan: ErasePlan, destroyedGeneration: number): ErasePlan {
  const about = plan.about.filter((d) => d.get('erased_at') === undefined && sealedGeneration(d.data()) <= destroyedGeneration);
  const other = plan.other.filter((o) => o.action === 'delete' && o.store === 'comments');
  return { ...plan, about, mentions: [], other };
}

function addCounts(a: StoreCount[], b: StoreCount[]): StoreCount[] {
  const out = new Map(a.map((c) => [c.store, { ...c }]));
  for (const c of b) {
    const cur = out.get(c.store);
    if (cur) {
      cur.erased += c.erased;
      cur.deleted += c.deleted;
    } else out.set(c.store, { ...c });
  }
  return [...out.values()];
}

export type Actor = RequestActor;

const WAREHOUSE_NOTE =
  'The warehouse (BigQuery, owned by the data platform team) is not erased by this platform. Its owners must erase this subject, identified by the pseudonym with the shared blind-index key, under their own process.';

export class ErasureService {
  constructor(private readonly deps: ErasureServiceDeps) {}

  private col() {
    return this.deps.db.collection(ERASURE_COLLECTION);
  }

  async request(subject: Subject, actor: Actor): Promise<{ doc: ErasureDoc; created: boolean }> {
    const now = this.deps.clock.now();
    const index = await this.deps.crypto.blindIndex(subject);
    // One open request per subject: asking again returns the open one.
    const open = await this.col().where('subject_index', '==', index).get();
    const existing = open.docs.map((d) => ErasureDocSchema.parse(d.data())).find((d) => d.status !== 'completed');
    if (existing) return { doc: existing, created: false };
    const at = now.toISOString();
    const doc: ErasureDoc = {
      id: newId('era', now.getTime()),
      subject_index: index,
      subject_type: subject.type,
      status: 'requested',
      requested_by: actor.email,
      requested_at: at,
      due_at: dueDate(now).toISOString(),
      updated_at: at,
      blocked_by: [],
      attempts: 0,
      completed_at: null,
      receipt: null,
      history: [{ at, from: null, to: 'requested', note: null }],
    };
    await this.col().doc(doc.id).create(doc);
    await this.audit(actor, 'erasure.request', doc, 'allowed', null);
    // Status reads "blocked" at once when a hold already applies to the subject itself.
    const holds = (await this.deps.gate.snapshot()).covering({ kind: 'subject', subject_index: index });
    const current = holds.length ? await this.move(doc.id, 'block', { blocked_by: holds.map((h) => ({ id: h.id, matter: h.matter })) }, `legal hold ${holds[0]!.id}`) : doc;
    await this.publish(makeEvent(EventTypes.erasureRequested, doc.id, { erasure_id: doc.id, subject_type: doc.subject_type }, now));
    return { doc: current, created: true };
  }

  async get(id: string): Promise<ErasureDoc> {
    if (!/^era_[0-9a-z]{1,64}$/.test(id)) throw new NotFoundError('Erasure request');
    const snap = await this.col().doc(id).get();
    if (!snap.exists) throw new NotFoundError('Erasure request');
    return ErasureDocSchema.parse(snap.data());
  }

  async list(status?: ErasureStatus): Promise<ErasureDoc[]> {
    const q = status ? this.col().where('status', '==', status) : this.col();
    const snap = await q.limit(500).get();
    return snap.docs.map((d) => ErasureDocSchema.parse(d.data())).sort((a, b) => (a.due_at < b.due_at ? -1 : 1));
  }

  /**
   * The erasure worker's job. Idempotent: a completed request is left alone; a blocked one is
   * checked again (the hold may have been released). Never erases while a hold applies.
   */
  async execute(id: string): Promise<ErasureDoc> {
    let doc = await this.get(id);
    if (doc.status === 'completed') return doc;
    const log = this.deps.logger.child({ erasure_id: id });
    // The hold check comes before the request reads "running": a blocked request stays blocked
    // for its readers instead of flickering through running on every re-check.
    const subject = { index: doc.subject_index, type: doc.subject_type };
    const checkedAt = this.deps.clock.now().toISOString();
    const plan = await planErasure(this.deps.db, this.deps.crypto, subject);
    const blocking = blockingHolds(plan, subject, await this.deps.gate.snapshot());
    if (blocking.length) {
      await this.deps.gate.blocked({ kind: 'subject', subject_index: subject.index }, blocking, { actor: 'system:erasure', path: 'erasure.execute' });
      log.info('erasure blocked by legal hold', { legal_holds: blocking.map((h) => h.id) });
      return await this.move(id, 'block', { blocked_by: blocking.map((h) => ({ id: h.id, matter: h.matter })) }, `legal hold ${blocking[0]!.id}`);
    }
    doc = await this.move(id, 'start', { attempts: doc.attempts + 1 }, null);
    try {
      const now = this.deps.clock.now();
      const { ledger, escrow } = this.deps.vault;
      // The ledger first, outside the database: a restore taken at any later moment replays this erasure.
      const entry = { subject_index: subject.index, subject_type: doc.subject_type, erasure_id: id, recorded_at: now.toISOString(), completed_at: null, key_generation: (await this.deps.crypto.keyGeneration(subject.index)) ?? 1 };
      await ledger.record(entry);
      let stores = await applyErasure(this.deps.db, plan, id, now, this.deps.crypto);
      // Crypto-shredding: the live key, then every backup's copy of it (its escrow entry).
      const key = await this.deps.crypto.destroyKey(subject.index);
      const escrowed = await escrow.destroy(subject.index);
      // Writes that committed between the plan and the destruction (another instance) are
      // sealed under the destroyed generation: erase them too. Later writes got a fresh key.
      const late = lateWrites(await planErasure(this.deps.db, this.deps.crypto, subject), key.generation);
      if (late.about.length || late.other.length) stores = addCounts(stores, await applyErasure(this.deps.db, late, id, this.deps.clock.now(), this.deps.crypto));
      const completedAt = this.deps.clock.now();
      const receipt: Receipt = {
        erasure_id: id,
        subject_pseudonym: subject.index,
        subject_type: doc.subject_type,
        requested_at: doc.requested_at,
        completed_at: completedAt.toISOString(),
        hold_check: { checked_at: checkedAt, holds_found: [], outcome: 'clear' },
        stores: [
          ...stores,
          { store: 'subject_keys', scanned: 1, erased: 0, deleted: key.hadKey ? 1 : 0, note: 'data key destroyed (crypto-shredding)' },
          { store: 'key escrow (backups)', scanned: 1, erased: 0, deleted: escrowed ? 1 : 0, note: "escrow entry deleted: every backup's copy of the data key is sealed under a key that no longer exists" },
          { store: 'erasure ledger', scanned: 0, erased: 0, deleted: 0, note: `recorded outside the database (${ledger.describe()}) before any change; every restore replays it before the data is read` },
          { store: 'warehouse result cache', scanned: 0, erased: 0, deleted: 0, note: 'in-memory per instance; entries expire with their TTL, never persisted' },
          { store: 'audit log', scanned: 0, erased: 0, deleted: 0, note: 'erasure records name the subject by pseudonym only; append-only, kept' },
        ],
        key: { key_id: key.keyId, generation: key.generation, had_key: key.hadKey, destroyed_at: key.destroyedAt },
        backups: {
          last_backup_with_ciphertext_expires_at: new Date(completedAt.getTime() + this.deps.backupRetentionDays * 86_400_000).toISOString(),
          note:
            "Backups taken before now hold the subject's sealed fields (subject value, question, comments) only as ciphertext, and its data key only under the escrow key deleted by this erasure. " +
            'Other copies in them (free text naming the subject, stored API responses, masked display forms) are erased again by the erasure-ledger replay every restore runs before serving: a restored backup reads nothing of the subject. ' +
            `Firestore's own point-in-time recovery and daily backups keep earlier document versions, the wrapped data key included, for ${FIRESTORE_HISTORY_DAYS} days.`,
          key_escrow_destroyed: true,
          pitr_window_ends_at: new Date(completedAt.getTime() + FIRESTORE_HISTORY_DAYS * 86_400_000).toISOString(),
        },
        warehouse: { owner_action_required: true, note: WAREHOUSE_NOTE },
      };
      await ledger.record({ ...entry, key_generation: Math.max(entry.key_generation, key.generation), completed_at: receipt.completed_at });
      const done = await this.move(id, 'complete', { completed_at: receipt.completed_at, receipt, blocked_by: [] }, null);
      const erased = stores.reduce((n, s) => n + s.erased + s.deleted, 0);
      await this.audit(systemActor('system:erasure'), 'erasure.completed', done, 'allowed', null, { stores: receipt.stores, key_generation: key.generation });
      await this.publish(
        makeEvent(
          EventTypes.erasureCompleted,
          id,
          { erasure_id: id, subject_type: doc.subject_type, records_erased: erased, warehouse_request: { subject_pseudonym: subject.index, owner_action_required: true } },
          completedAt,
        ),
      );
      log.info('erasure completed', { records: erased });
      return done;
    } catch (error) {
      await this.move(id, 'requeue', {}, 'failed; will retry').catch(() => undefined);
      throw error;
    }
  }

  /** Open requests to (re)drive: requested, or blocked (holds may have been released). */
  async pending(): Promise<ErasureDoc[]> {
    const [a, b] = await Promise.all([this.list('requested'), this.list('blocked')]);
    return [...a, ...b];
  }

  async redrive(filter?: (doc: ErasureDoc) => boolean): Promise<number> {
    let n = 0;
    for (const doc of await this.pending()) {
      if (filter && !filter(doc)) continue;
      await this.publish(makeEvent(EventTypes.erasureRequested, doc.id, { erasure_id: doc.id, subject_type: doc.subject_type }, this.deps.clock.now()));
      n++;
    }
    return n;
  }

  private async move(id: string, action: ErasureAction, patch: Partial<ErasureDoc>, note: string | null): Promise<ErasureDoc> {
    const now = this.deps.clock.now().toISOString();
    return this.deps.db.runTransaction(async (tx) => {
      const ref = this.col().doc(id);
      const snap = await tx.get(ref);
      if (!snap.exists) throw new NotFoundError('Erasure request');
      const cur = ErasureDocSchema.parse(snap.data());
      const to = erasureTransition(cur.status, action);
      if (!to) throw new ConflictError('invalid-transition', `An erasure request in state "${cur.status}" cannot ${action}.`, { status_now: cur.status, action });
      // History records the status a reader sees: not each run, and not a re-check that stays blocked.
      const last = cur.history[cur.history.length - 1]?.to;
      const quiet = to === 'running' || (to === 'blocked' && last === 'blocked');
      const next: ErasureDoc = { ...cur, ...patch, status: to, updated_at: now, history: quiet ? cur.history : [...cur.history, { at: now, from: last ?? null, to, note }] };
      tx.set(ref, next);
      return next;
    });
  }

  private async audit(origin: RequestActor, action: string, doc: ErasureDoc, outcome: 'allowed' | 'rejected', reason: string | null, extra: Record<string, unknown> = {}) {
    await this.deps.audit.write({
      ...auditOrigin(origin),
      action,
      resource: `erasure-requests/${doc.id}`,
      outcome,
      reason,
      details: { subject_pseudonym: doc.subject_index, subject_type: doc.subject_type, status: doc.status, due_at: doc.due_at, ...extra },
    });
  }

  private async publish(event: PlatformEvent): Promise<void> {
    try {
      await this.deps.publisher.publish(event);
    } catch (error) {
      this.deps.logger.warn('erasure event not published; the scheduled sweep re-drives open requests', { event_type: event.type, error: String(error) });
    }
  }
}
