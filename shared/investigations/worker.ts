import { runInvestigation } from '../agent/run.js';
import type { StepRecord } from '../agent/model.js';
import type { Planner } from '../agent/planner.js';
import type { PlatformEvent } from '../events/model.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { recordInvestigationRun } from '../platform/metrics.js';
import type { Warehouse } from '../warehouse/port.js';
import * as life from './lifecycle.js';
import type { InvestigationService } from './service.js';
import type { InvestigationStore } from './store.js';

export interface WorkerDeps {
  store: InvestigationStore;
  service: InvestigationService;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  /** Identifies this worker instance in leases. */
  workerId?: string;
  /** Chooses the steps; default the deterministic planner (agent/llm createConfiguredPlanner for the llm_planner flag). */
  planner?: Planner;
  /**
   * The current roles of a principal: the agent queries on behalf of the investigation's creator
   * (their byte budget and PII permission). Without it the agent uses AGENT_ACTOR (service budget).
   */
  rolesOf?(principal: string): Promise<readonly string[]>;
}

export type RunOutcome = 'completed' | 'failed' | 'skipped' | 'lease-lost' | 'cancelled';

/**
 * Runs one requested investigation. The claim is a transaction on the investigation (queued →
 * running with a lease), so a duplicate delivery or a second worker finds nothing to do. Each
 * step renews the lease and is committed as it finishes, so progress is visible live and a
 * worker that dies leaves a lease that the reconciler will see expire.
 */
export async function runRequested(investigationId: string, event: PlatformEvent, deps: WorkerDeps): Promise<RunOutcome> {
  const worker = deps.workerId ?? newId('wrk');
  const log = deps.logger.child({ component: 'worker', investigation_id: investigationId, event_id: event.id });
  let events: PlatformEvent[] = [];
  let claimed = false;
  const doc = await deps.store.mutate(investigationId, (current) => {
    const result = life.claim(current, worker, event.id, deps.leaseMs, deps.clock.now());
    claimed = result !== null;
    events = result?.events ?? [];
    return result;
  });
  if (!claimed) {
    log.info('nothing to do: investigation is not queued', { status: doc.status });
    return 'skipped';
  }
  await deps.service.dispatch(events);
  log.info('claimed', { attempt: doc.attempts });
  const startedMs = deps.clock.now().getTime();

  const step = async (record: StepRecord) => {
    let stepEvents: PlatformEvent[] = [];
    await deps.store.mutate(investigationId, (current) => {
      const r = life.recordStep(current, worker, record, deps.leaseMs, deps.clock.now());
      stepEvents = r.events;
      return r;
    });
    await deps.service.dispatch(stepEvents);
  };
  const stillMine = async () => {
    const current = await deps.store.get(investigationId);
    return current?.status === 'running' && current.lease?.owner === worker;
  };

  try {
    // Decrypted only here, in memory, for the run (an erased subject fails the run).
    const { subject, question } = await deps.store.forRun(doc);
    const result = await runInvestigation(
      { subject, ...(question ? { question } : {}), windowDays: doc.window_days, now: deps.clock.now() },
      deps.warehouse,
      { onStep: step, shouldContinue: stillMine },
      {
        resource: `investigations/${investigationId}`,
        ...(deps.planner ? { planner: deps.planner } : {}),
        ...(deps.rolesOf ? { actor: { principal: doc.created_by, roles: await deps.rolesOf(doc.created_by) } } : {}),
      },
    );
    if (!(await stillMine())) return settleLost(investigationId, deps, log);
    let done: PlatformEvent[] = [];
    await deps.store.mutate(investigationId, (current) => {
      const r = life.complete(current, worker, result, deps.clock.now());
      done = r.events;
      return r;
    });
    await deps.service.dispatch(done);
    log.info('completed', { findings: result.findings.length, risk_score: result.risk.score });
    recordInvestigationRun(log, 'completed', deps.clock.now().getTime() - startedMs);
    return 'completed';
  } catch (error) {
    if (error instanceof life.LeaseLostError) return settleLost(investigationId, deps, log);
    log.error('investigation run failed', error);
    const reason = error instanceof AppError ? (error.detail ?? error.title) : 'The investigation run failed unexpectedly; the worker logged the cause.';
    try {
      let failed: PlatformEvent[] = [];
      await deps.store.mutate(investigationId, (current) => {
        const r = life.fail(current, worker, reason, deps.clock.now(), worker);
        failed = r.events;
        return r;
      });
      await deps.service.dispatch(failed);
      recordInvestigationRun(log, 'failed', deps.clock.now().getTime() - startedMs);
      return 'failed';
    } catch (inner) {
      if (inner instanceof life.LeaseLostError) return settleLost(investigationId, deps, log);
      throw inner;
    }
  }
}

async function settleLost(id: string, deps: WorkerDeps, log: Logger): Promise<RunOutcome> {
  const current = await deps.store.get(id);
  if (current?.status === 'cancelled') {
    log.info('stopped: investigation was cancelled');
    return 'cancelled';
  }
  log.warn('stopped: lease lost to another worker or the reconciler', { status: current?.status });
  return 'lease-lost';
}
