import type { Firestore } from '@google-cloud/firestore';
import type { AuditLog } from '../audit/model.js';
import { accessOfStored, canSeeInvestigation } from '../auth/policy.js';
import { NotFoundError } from '../platform/errors.js';
import { auditOrigin, type RequestActor } from './actor.js';
import { BatchWriter } from './batch-writer.js';
import type { DeletionGate } from './gate.js';
import { factsOf } from './holds/model.js';

/**
 * `DELETE /v1/investigations/{id}`: a compliance purge of one investigation with its comments and
 * stored responses, through the deletion gate (409 naming the hold, nothing deleted). An
 * investigation the caller may not see is "not found", as for a read (docs/decisions/0040).
 */
export class InvestigationPurge {
  constructor(private readonly deps: { db: Firestore; gate: DeletionGate; audit: AuditLog }) {}

  async purge(id: string, actor: RequestActor, reason: string): Promise<{ deleted: number }> {
    const ref = this.deps.db.collection('investigations').doc(id);
    const snap = await ref.get();
    if (!snap.exists || !canSeeInvestigation({ principal: actor.email, roles: actor.roles, team: actor.team }, accessOfStored(snap.data()!))) {
      throw new NotFoundError('Investigation');
    }
    const origin = auditOrigin(actor);
    await this.deps.gate.assertNotHeld(
      { kind: 'investigation', investigation: factsOf(snap.data()!) },
      { actor: actor.email, roles: actor.roles, path: 'investigations.delete', request_id: actor.requestId, trace: actor.trace, source_ip: actor.sourceIp },
    );
    const comments = await ref.collection('comments').get();
    const idem = await this.deps.db.collection('idempotency_keys').where('investigation_id', '==', id).get();
    const refs = [...comments.docs.map((d) => d.ref), ...idem.docs.map((d) => d.ref), ref];
    const writer = new BatchWriter(this.deps.db);
    for (const r of refs) await writer.delete(r);
    await writer.flush();
    await this.deps.audit.write({
      ...origin,
      action: 'investigations.delete',
      resource: `investigations/${id}`,
      outcome: 'allowed',
      reason,
      details: { comments: comments.size, stored_responses: idem.size },
    });
    return { deleted: refs.length };
  }
}
