import type { AuditLog } from '../audit/model.js';
import { LegalHoldError } from './errors.js';
import { holdsCovering, type HoldDoc, type HoldableRecord } from './holds/model.js';
import type { HoldStore } from './holds/store.js';

/** Who is deleting, for the audit record of a blocked deletion. */
export interface GateContext {
  actor: string;
  roles?: string[];
  /** The deletion path: `investigations.delete`, `retention.sweep`, `erasure.execute`, … */
  path: string;
  request_id?: string | null;
  /** The request's trace and source IP, when a request is behind the deletion (not the sweep). */
  trace?: string | null;
  source_ip?: string | null;
}

function describe(record: HoldableRecord): string {
  return record.kind === 'subject' ? 'The data subject' : `Investigation ${record.investigation.id}`;
}

function resourceOf(record: HoldableRecord): string {
  return record.kind === 'subject' ? `subjects/${record.subject_index}` : `investigations/${record.investigation.id}`;
}

/** A frozen view of the active holds, for paths that check many records (sweep, erasure). */
export class HoldSet {
  constructor(readonly holds: readonly HoldDoc[]) {}
  covering(record: HoldableRecord): HoldDoc[] {
    return holdsCovering(record, this.holds);
  }
}

/**
 * THE deletion gate: every path that deletes or irreversibly changes records (the delete API,
 * retention, TTL stamping, erasure) asks here first. A covered record is refused with a 409
 * naming the hold, and the refusal is audited.
 */
export class DeletionGate {
  constructor(private readonly deps: { holds: HoldStore; audit: AuditLog }) {}

  async snapshot(): Promise<HoldSet> {
    return new HoldSet(await this.deps.holds.active());
  }

  /** Throws LegalHoldError (409) if any active hold covers the record; audits the refusal. */
  async assertNotHeld(record: HoldableRecord, ctx: GateContext, set?: HoldSet): Promise<void> {
    const holds = (set ?? (await this.snapshot())).covering(record);
    if (!holds.length) return;
    await this.blocked(record, holds, ctx);
    throw new LegalHoldError(holds, describe(record));
  }

  /** Audits a deletion that a hold blocked (batch paths record and move on instead of throwing). */
  async blocked(record: HoldableRecord, holds: readonly HoldDoc[], ctx: GateContext): Promise<void> {
    await this.deps.audit.write({
      actor: ctx.actor,
      roles: ctx.roles ?? [],
      action: 'legal_hold.blocked_deletion',
      resource: resourceOf(record),
      outcome: 'rejected',
      reason: `legal hold ${holds.map((h) => h.id).join(', ')}`,
      request_id: ctx.request_id ?? null,
      trace: ctx.trace ?? null,
      source_ip: ctx.source_ip ?? null,
      details: { path: ctx.path, legal_holds: holds.map((h) => ({ id: h.id, matter: h.matter })) },
    });
  }
}
