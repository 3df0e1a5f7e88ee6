import type { Firestore } from '@google-cloud/firestore';
import { EventTypes, makeEvent, type PlatformEvent } from '../events/model.js';
import type { Clock } from '../platform/clock.js';
import { exclusively } from '../platform/job-lease.js';
import type { Logger } from '../platform/logger.js';
import * as life from './lifecycle.js';
import type { InvestigationService } from './service.js';
import type { InvestigationStore } from './store.js';
import { recordRequeued } from '../platform/metrics.js';

export interface ReconcilerDeps {
  /** Where the reconciler's job lease lives: one reconcile at a time across instances. */
  db: Firestore;
  store: InvestigationStore;
  service: InvestigationService;
  publisher: { publish(event: PlatformEvent): Promise<void> };
  clock: Clock;
  logger: Logger;
  maxAttempts: number;
  leaseMs: number;
}

export interface ReconcileReport {
  requeued: string[];
  failed: string[];
  nudged: string[];
  republished: number;
}

/**
 * The scheduled safety net: nothing stays `running` forever (an expired lease means its worker
 * died: re-enqueue, or fail after too many attempts) and no committed event stays unpublished.
 */
export async function reconcile(deps: ReconcilerDeps): Promise<ReconcileReport & { skipped?: true }> {
  // Overlapping ticks would re-publish the same outbox entries twice; the second one skips.
  // The job lease is the configured worker lease (renewed while the run goes on): a reconciler
  // killed mid-run blocks the safety net no longer than a dead worker blocks its investigation.
  const run = await exclusively(deps.db, 'reconcile', { clock: deps.clock, logger: deps.logger, leaseMs: deps.leaseMs }, () => reconcileNow(deps));
  return run.ran ? run.value : { requeued: [], failed: [], nudged: [], republished: 0, skipped: true };
}

async function reconcileNow(deps: ReconcilerDeps): Promise<ReconcileReport> {
  const now = deps.clock.now();
  const report: ReconcileReport = { requeued: [], failed: [], nudged: [], republished: 0 };
  const expired = await deps.store.findByStatus('running', 'lease_expires', now.toISOString(), 100);
  for (const stale of expired) {
    // What is reported and published comes from the attempt that committed: a contended
    // transaction runs this callback again, and an earlier attempt's plan never happened.
    const { doc, events, changed } = await deps.store.commit(stale.id, (current) => {
      // Re-check inside the transaction: the worker may have renewed or finished meanwhile.
      if (current.status !== 'running' || (current.lease && current.lease.expires_at >= now.toISOString())) return null;
      return current.attempts >= deps.maxAttempts
        ? life.fail(current, 'system:reconciler', `The worker stopped responding ${current.attempts} times; giving up.`, now)
        : life.requeue(current, now);
    });
    if (!changed) continue;
    const action = doc.status === 'failed' ? 'fail' : 'requeue';
    report[action === 'fail' ? 'failed' : 'requeued'].push(stale.id);
    recordRequeued(deps.logger, action === 'fail' ? 'max_attempts' : 'lease_expired');
    await deps.service.dispatch(events);
  }

  // Queued work whose request was published but never delivered (e.g. a delivery lost with a
  // killed process): ask again. A duplicate is harmless, the claim runs it once.
  const waiting = await deps.store.findByStatus('queued', 'updated_at', new Date(now.getTime() - deps.leaseMs).toISOString(), 100);
  for (const doc of waiting) {
    try {
      await deps.publisher.publish(makeEvent(EventTypes.investigationRequested, doc.id, { investigation_id: doc.id, status: doc.status, sensitivity: doc.sensitivity }, now));
      report.nudged.push(doc.id);
    } catch (error) {
      deps.logger.warn('re-request failed', { investigation_id: doc.id, error: String(error) });
    }
  }

  // Events committed but never published (publisher down, process killed between commit and publish).
  const pending = await deps.store.pendingOutbox(new Date(now.getTime() - 10_000).toISOString(), 200);
  const published: string[] = [];
  for (const entry of pending) {
    try {
      await deps.publisher.publish(entry.event);
      published.push(entry.event.id);
    } catch (error) {
      deps.logger.warn('outbox re-publish failed', { event_id: entry.event.id, error: String(error) });
    }
  }
  if (published.length) await deps.store.markPublished(published, now.toISOString());
  report.republished = published.length;
  if (report.requeued.length || report.failed.length || report.nudged.length || report.republished) deps.logger.notice('reconciled', { ...report });
  return report;
}
