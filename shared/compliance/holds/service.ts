import type { Firestore } from '@google-cloud/firestore';
import { firestorePackage } from '../../store/firestore.js';
import type { AuditLog } from '../../audit/model.js';
import { EventTypes, makeEvent, type PlatformEvent } from '../../events/model.js';
import type { EventPublisher } from '../../events/port.js';
import { maskSubjectValue } from '../../investigations/model.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { SubjectCrypto } from '../subject-crypto.js';
import { accessOfStored, canSeeInvestigation } from '../../auth/policy.js';
import { SeparationOfDutiesError } from '../../auth/errors.js';
import { auditOrigin, type RequestActor as Actor } from '../actor.js';
import { scanInvestigations } from '../scan.js';
import { HoldSet } from '../gate.js';
import { factsOf, type CreateHold, type HoldDoc, type HoldTarget } from './model.js';
import type { HoldStore } from './store.js';


export interface HoldServiceDeps {
  db: Firestore;
  store: HoldStore;
  crypto: SubjectCrypto;
  audit: AuditLog;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
}

export class HoldService {
  constructor(private readonly deps: HoldServiceDeps) {}

  async place(input: CreateHold, actor: Actor): Promise<HoldDoc> {
    const now = this.deps.clock.now();
    let target: HoldTarget;
    if (input.subject) {
      target = {
        kind: 'subject',
        subject_index: await this.deps.crypto.blindIndex(input.subject),
        subject_type: input.subject.type,
        display: maskSubjectValue(input.subject.type, input.subject.value),
      };
    } else if (input.investigation_id) {
      const snap = await this.deps.db.collection('investigations').doc(input.investigation_id).get();
      // Addressing an investigation by id needs sight of it, as reading it does (0040); subject and
      // query holds still cover restricted investigations without naming them.
      if (!snap.exists || !canSeeInvestigation({ principal: actor.email, roles: actor.roles, team: actor.team }, accessOfStored(snap.data()!))) {
        throw new NotFoundError('Investigation');
      }
      target = { kind: 'investigation', investigation_id: input.investigation_id };
    } else {
      target = { kind: 'query', query: input.query as Record<string, string> };
    }
    const doc: HoldDoc = {
      id: newId('hold', now.getTime()),
      state: 'active',
      target,
      reason: input.reason,
      matter: input.matter,
      placed_by: actor.email,
      placed_at: now.toISOString(),
      released_by: null,
      released_at: null,
      release_reason: null,
    };
    await this.deps.store.create(doc);
    await this.audit(actor, 'legal_holds.place', doc, { before: null, after: doc });
    // TTL must never delete a held record: take the TTL stamp off everything the hold covers now.
    const cleared = await this.clearTtl(doc);
    this.deps.logger.info('legal hold placed', { legal_hold_id: doc.id, target: doc.target.kind, ttl_cleared: cleared });
    await this.publish(makeEvent(EventTypes.legalHoldPlaced, doc.id, { legal_hold_id: doc.id, investigation_id: target.kind === 'investigation' ? target.investigation_id : null }, now));
    return doc;
  }

  async release(id: string, reason: string, actor: Actor): Promise<HoldDoc> {
    const now = this.deps.clock.now();
    const { before, after } = await this.deps.store.mutate(id, (doc) => {
      // Four eyes (0041): whoever placed a hold cannot lift it; a second person must.
      if (doc.placed_by.toLowerCase() === actor.email.toLowerCase()) {
        throw new SeparationOfDutiesError('hold-release-by-placer', `Legal hold ${id} was placed by you; another person with legal_holds.release must release it.`, { legal_hold_id: id });
      }
      if (doc.state === 'released') throw new ConflictError('legal-hold-released', `Legal hold ${id} was already released.`, { legal_hold_id: id });
      return { ...doc, state: 'released', released_by: actor.email, released_at: now.toISOString(), release_reason: reason };
    });
    await this.audit(actor, 'legal_holds.release', after, { before, after });
    const t = after.target;
    await this.publish(makeEvent(EventTypes.legalHoldReleased, after.id, { legal_hold_id: after.id, investigation_id: t.kind === 'investigation' ? t.investigation_id : null }, now));
    return after;
  }

  async get(id: string): Promise<HoldDoc> {
    const doc = await this.deps.store.get(id);
    if (!doc) throw new NotFoundError('Legal hold');
    return doc;
  }

  list(state?: 'active' | 'released'): Promise<HoldDoc[]> {
    return this.deps.store.list(state);
  }

  private async clearTtl(hold: HoldDoc): Promise<number> {
    const set = new HoldSet([hold]);
    let cleared = 0;
    const t = hold.target;
    const where: Record<string, string> | undefined = t.kind === 'investigation' ? { id: t.investigation_id } : t.kind === 'subject' ? { 'subject.index': t.subject_index } : undefined;
    await scanInvestigations(this.deps.db, where, async (docs) => {
      const batch = this.deps.db.batch();
      let n = 0;
      for (const d of docs) {
        if (d.get('expire_at') === undefined) continue;
        if (!set.covering({ kind: 'investigation', investigation: factsOf(d.data()) }).length) continue;
        batch.update(d.ref, { expire_at: firestorePackage().FieldValue.delete() });
        n++;
      }
      if (n) await batch.commit();
      cleared += n;
    });
    return cleared;
  }

  private async audit(actor: Actor, action: string, doc: HoldDoc, change: { before: HoldDoc | null; after: HoldDoc }): Promise<void> {
    await this.deps.audit.write({
      ...auditOrigin(actor),
      action,
      resource: `legal-holds/${doc.id}`,
      outcome: 'allowed',
      reason: action === 'legal_holds.release' ? doc.release_reason : doc.reason,
      details: { matter: doc.matter, target: doc.target.kind, before: change.before, after: change.after },
    });
  }

  private async publish(event: PlatformEvent): Promise<void> {
    try {
      await this.deps.publisher.publish(event);
    } catch (error) {
      this.deps.logger.warn('legal hold event not published', { event_type: event.type, error: String(error) });
    }
  }
}
