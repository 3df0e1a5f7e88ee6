import type { AuditLog } from '../../audit/model.js';
import { EventTypes, makeEvent } from '../../events/model.js';
import type { EventPublisher } from '../../events/port.js';
import type { Clock } from '../../platform/clock.js';
import { ValidationError } from '../../platform/errors.js';
import { PolicyLockedError } from '../errors.js';
import { RETENTION_KINDS, applyPolicyChange, type Policy, type PolicyChange } from './policy.js';
import type { PolicyStore } from './store.js';
import { sweep, type SweepDeps, type SweepOptions, type SweepReport } from './sweep.js';

export class RetentionService {
  constructor(private readonly deps: SweepDeps & { store: PolicyStore; audit: AuditLog; clock: Clock; publisher: EventPublisher }) {}

  async list(): Promise<Policy[]> {
    const all = await this.deps.store.all();
    return RETENTION_KINDS.map((k) => all[k]);
  }

  /** Applies every change or none; each change is audited with before and after. */
  async update(changes: PolicyChange[], actor: { email: string; roles: string[]; requestId: string | null; trace?: string | null; sourceIp?: string | null }): Promise<Policy[]> {
    const at = this.deps.clock.now().toISOString();
    const { before, written } = await this.deps.store.update((current) => {
      const out: Policy[] = [];
      for (const change of changes) {
        const r = applyPolicyChange(current[change.kind], change, actor.email, at);
        if (!r.ok) {
          if (r.code === 'locked') throw new PolicyLockedError(change.kind, r.reason);
          throw new ValidationError(`policies.${change.kind}: ${r.reason}`, [{ path: `body.policies.${change.kind}`, message: r.reason }]);
        }
        if (r.changed) out.push(r.next);
      }
      return out;
    });
    for (const p of written) {
      await this.deps.audit.write({
        actor: actor.email,
        roles: actor.roles,
        action: 'retention.policy_changed',
        resource: `retention-policies/${p.kind}`,
        outcome: 'allowed',
        reason: null,
        request_id: actor.requestId,
        trace: actor.trace ?? null,
        source_ip: actor.sourceIp ?? null,
        details: { before: before[p.kind], after: p },
      });
    }
    // New lengths move TTL stamps: ask for a sweep now, out of band (the scheduled retention
    // function), rather than scanning inside this request. Until it runs, the old stamps stand.
    if (written.some((p) => p.kind !== 'audit')) {
      try {
        await this.deps.publisher.publish(makeEvent(EventTypes.schedulerRetention, undefined, { job: 'retention' }, this.deps.clock.now()));
      } catch (error) {
        this.deps.logger.warn('retention sweep not requested after a policy change; the next scheduled sweep re-stamps', { error: String(error) });
      }
    }
    return this.list();
  }

  run(options: SweepOptions = {}): Promise<SweepReport> {
    return sweep(this.deps, options);
  }
}
