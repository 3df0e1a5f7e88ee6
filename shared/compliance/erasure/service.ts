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
import { applyErasure, blockingHolds, planErasure } from './erase.js';
import { ERASURE_COLLECTION, ErasureDocSchema, LEDGER_COLLECTION, dueDate, erasureTransition, type ErasureAction, type ErasureDoc, type ErasureStatus, type Receipt } from './model.js';

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
      const stores = await applyErasure(this.deps.db, plan, id, now);
      // Crypto-shredding last: every copy of the subject's ciphertext, backups included, goes dark.
      const key = await this.deps.crypto.destroyKey(subject.index);
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
          { store: 'warehouse result cache', scanned: 0, erased: 0, deleted: 0, note: 'in-memory per instance; entries expire with their TTL, never persisted' },
          { store: 'audit log', scanned: 0, erased: 0, deleted: 0, note: 'holds no subject values (redacted at write); append-only, kept' },
        ],
        key: { key_id: key.keyId, generation: key.generation, had_key: key.hadKey, destroyed_at: key.destroyedAt },
        backups: {
          last_backup_with_ciphertext_expires_at: new Date(completedAt.getTime() + this.deps.backupRetentionDays * 86_400_000).toISOString(),
          note: 'Backups taken before now hold only ciphertext under the destroyed key; a restore replays the erasure ledger before serving.',
        },
        warehouse: { owner_action_required: true, note: WAREHOUSE_NOTE },
      };
      await this.deps.db.collection(LEDGER_COLLECTION).doc(subject.index).set({
        subject_index: subject.index,
        subject_type: doc.subject_type,
        erasure_id: id,
        completed_at: receipt.completed_at,
        key_generation: key.generation,
      });
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
