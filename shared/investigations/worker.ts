import { runInvestigation } from '../agent/run.js';
import type { StepRecord } from '../agent/model.js';
import type { PlatformEvent } from '../events/model.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
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
    const result = await runInvestigation(
      { subject: doc.subject, ...(doc.question ? { question: doc.question } : {}), windowDays: doc.window_days, now: deps.clock.now() },
      deps.warehouse,
      { onStep: step, shouldContinue: stillMine },
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
