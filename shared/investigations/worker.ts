import { runInvestigation } from '../agent/run.js';
import type { StepRecord } from '../agent/model.js';
import type { Planner } from '../agent/planner.js';
import type { PlatformEvent } from '../events/model.js';
import type { Clock } from '../platform/clock.js';
import { AppError, NotFoundError, isTransient } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { recordInvestigationRun } from '../platform/metrics.js';
import type { Warehouse } from '../warehouse/port.js';
import * as life from './lifecycle.js';
import type { InvestigationService } from './service.js';
import type { Committed, InvestigationStore } from './store.js';
import type { InvestigationDoc } from './model.js';
import type { Mutation } from './store.js';

export interface WorkerDeps {
  store: InvestigationStore;
  service: InvestigationService;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  /** How often the lease is renewed while the run goes on; default a third of the lease. */
  heartbeatMs?: number;
  /**
   * Waits before each retry of a transient failure (warehouse queue full or unavailable, store
   * contention); default 0.5, 1, 2, 4 and 8 s. The lease is kept alive meanwhile.
   */
  transientBackoffMs?: readonly number[];
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

/** `missing`: the investigation does not exist (purged, erased, or never did) — acknowledged, nothing to retry. */
export type RunOutcome = 'completed' | 'failed' | 'skipped' | 'lease-lost' | 'cancelled' | 'missing';

const DEFAULT_BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000] as const;

/**
 * Runs one requested investigation. The claim is a transaction on the investigation (queued →
 * running with a lease), so a duplicate delivery or a second worker finds nothing to do. While the
 * run goes on a heartbeat renews the lease (a slow step or a slow planner is not a dead worker);
 * each step is committed as it finishes, so progress is visible live, and a worker that dies
 * leaves a lease that the reconciler will see expire. Every side effect (publishing, logging an
 * outcome) follows from what a transaction committed, never from an attempt that was retried.
 */
export async function runRequested(investigationId: string, event: PlatformEvent, deps: WorkerDeps): Promise<RunOutcome> {
  const worker = deps.workerId ?? newId('wrk');
  const log = deps.logger.child({ component: 'worker', investigation_id: investigationId, event_id: event.id });
  const backoff = deps.transientBackoffMs ?? DEFAULT_BACKOFF_MS;
  const commit = (change: (doc: InvestigationDoc) => Mutation | null) => retryTransient(() => deps.store.commit(investigationId, change), backoff, log);

  let claimed: Committed;
  try {
    claimed = await commit((current) => life.claim(current, worker, event.id, deps.leaseMs, deps.clock.now()));
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    // Purged or erased before its request arrived: retrying cannot make it exist.
    log.warn('nothing to do: the investigation does not exist (purged, erased or never created)');
    return 'missing';
  }
  const doc = claimed.doc;
  if (!claimed.changed) {
    log.info('nothing to do: investigation is not queued', { status: doc.status });
    return 'skipped';
  }
  await deps.service.dispatch(claimed.events);
  log.info('claimed', { attempt: doc.attempts });
  const startedMs = deps.clock.now().getTime();
  const lease = keepLease(investigationId, worker, deps, log);

  const step = async (record: StepRecord) => {
    if (lease.lost) throw new life.LeaseLostError(`lease on ${investigationId} lost`);
    const { events } = await commit((current) => life.recordStep(current, worker, record, deps.leaseMs, deps.clock.now()));
    await deps.service.dispatch(events);
  };
  const stillMine = async () => {
    if (lease.lost) return false;
    const current = await deps.store.get(investigationId);
    return current?.status === 'running' && current.lease?.owner === worker;
  };

  try {
    // Decrypted only here, in memory, for the run (an erased subject fails the run).
    const { subject, question } = await deps.store.forRun(doc);
    const result = await runInvestigation(
      { subject, ...(question ? { question } : {}), windowDays: doc.window_days, now: deps.clock.now() },
      retryingWarehouse(deps.warehouse, backoff, log),
      { onStep: step, shouldContinue: stillMine },
      {
        resource: `investigations/${investigationId}`,
        ...(deps.planner ? { planner: deps.planner } : {}),
        ...(deps.rolesOf ? { actor: { principal: doc.created_by, roles: await deps.rolesOf(doc.created_by) } } : {}),
      },
    );
    await lease.stop();
    if (!(await stillMine())) return settleLost(investigationId, deps, log);
    const { events } = await commit((current) => life.complete(current, worker, result, deps.clock.now()));
    await deps.service.dispatch(events);
    log.info('completed', { findings: result.findings.length, risk_score: result.risk.score });
    recordInvestigationRun(log, 'completed', deps.clock.now().getTime() - startedMs);
    return 'completed';
  } catch (error) {
    await lease.stop();
    if (error instanceof life.LeaseLostError) return settleLost(investigationId, deps, log);
    log.error('investigation run failed', error);
    const reason = error instanceof AppError ? (error.detail ?? error.title) : 'The investigation run failed unexpectedly; the worker logged the cause.';
    try {
      const { events } = await commit((current) => life.fail(current, worker, reason, deps.clock.now(), worker));
      await deps.service.dispatch(events);
      recordInvestigationRun(log, 'failed', deps.clock.now().getTime() - startedMs);
      return 'failed';
    } catch (inner) {
      if (inner instanceof life.LeaseLostError) return settleLost(investigationId, deps, log);
      throw inner;
    }
  } finally {
    await lease.stop();
  }
}

interface Lease {
  /** Set once a renewal found the lease taken (requeued by the reconciler, cancelled): the run stops. */
  readonly lost: boolean;
  stop(): Promise<void>;
}

/**
 * Renews the lease on a timer while the run goes on, each renewal a transaction that checks this
 * worker still owns it. A lost lease is not renewed again, and the run stops at its next step.
 */
function keepLease(id: string, worker: string, deps: WorkerDeps, log: Logger): Lease {
  let lost = false;
  let stopped = false;
  let beat: Promise<void> | null = null;
  const renew = async () => {
    try {
      await deps.store.commit(id, (current) => life.renew(current, worker, deps.leaseMs, deps.clock.now()));
    } catch (error) {
      if (error instanceof life.LeaseLostError || error instanceof NotFoundError) {
        lost = true;
        log.warn('lease lost while running; stopping the run');
      } else {
        // The next beat tries again; the lease has two more beats of margin.
        log.warn('lease renewal failed', { error: String(error) });
      }
    }
  };
  const timer = setInterval(() => {
    if (lost || stopped || beat) return;
    beat = renew().finally(() => (beat = null));
  }, Math.max(10, deps.heartbeatMs ?? Math.floor(deps.leaseMs / 3)));
  timer.unref();
  return {
    get lost() {
      return lost;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await beat;
    },
  };
}

/** Runs `fn`, retrying transient failures after each wait in `backoff`; the last failure is thrown. */
async function retryTransient<T>(fn: () => Promise<T>, backoff: readonly number[], log: Logger): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const wait = backoff[attempt];
      if (!isTransient(error) || wait === undefined) throw error;
      log.warn('transient failure; retrying', { attempt: attempt + 1, wait_ms: wait, error: error instanceof AppError ? error.type : String((error as { code?: unknown }).code) });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** The warehouse as the run sees it: a full queue or a passing outage is waited out, not a failed step. */
function retryingWarehouse(warehouse: Warehouse, backoff: readonly number[], log: Logger): Warehouse {
  return {
    kind: warehouse.kind,
    query: (q) => retryTransient(() => warehouse.query(q), backoff, log),
    ping: () => warehouse.ping(),
    close: () => warehouse.close(),
  };
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
