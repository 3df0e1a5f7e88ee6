import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from './clock.js';
import { newId } from './ids.js';
import type { Logger } from './logger.js';

/**
 * One run at a time of a scheduled job (retention sweep, reconciler) across every instance
 * (docs/decisions/0048). Scheduler ticks, a manual "sweep now" and a redelivered trigger can
 * overlap; two sweeps deleting the same pages race each other (NOT_FOUND on a document the other
 * already deleted). A run first takes the job's lease in `job_leases/{job}` — a transaction that
 * sees whether another holder's lease is still current — renews it on a timer while it runs, and
 * gives it back at the end. A run that finds the lease held skips (it is not an error: the other
 * run does the work). A holder that dies leaves a lease that expires after `leaseMs`.
 */
export const JOB_LEASES_COLLECTION = 'job_leases';
const ALREADY_EXISTS = 6;

export interface JobLeaseRecord {
  holder: string;
  expires_at_ms: number;
  taken_at: string;
}

export type LeasedRun<T> = { ran: true; value: T } | { ran: false; held_by: string; until: string };

export interface JobLeaseOptions {
  clock: Clock;
  logger: Logger;
  /** How long a lease lasts without renewal; default 10 min. */
  leaseMs?: number;
}

/** Pure: may `holder` take the lease now, given what is stored? */
export function mayTake(current: JobLeaseRecord | null, holder: string, nowMs: number): boolean {
  return current === null || current.holder === holder || current.expires_at_ms <= nowMs;
}

export async function exclusively<T>(db: Firestore, job: string, options: JobLeaseOptions, run: () => Promise<T>): Promise<LeasedRun<T>> {
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const holder = newId('job');
  const ref = db.collection(JOB_LEASES_COLLECTION).doc(job);
  const log = options.logger.child({ job });

  const record = (nowMs: number): JobLeaseRecord => ({ holder, expires_at_ms: nowMs + leaseMs, taken_at: new Date(nowMs).toISOString() });
  const taken = await take();
  async function take(): Promise<JobLeaseRecord | null> {
    try {
      // No lease yet: create() lets exactly one of the runs starting together have it, at once.
      await ref.create(record(options.clock.now().getTime()));
      return null;
    } catch (error) {
      if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
    }
    // A lease exists: take it over only if it has expired (its holder died).
    return db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const current = snap.exists ? (snap.data() as JobLeaseRecord) : null;
      const nowMs = options.clock.now().getTime();
      if (!mayTake(current, holder, nowMs)) return current!;
      tx.set(ref, record(nowMs));
      return null;
    });
  }
  if (taken) {
    const until = new Date(taken.expires_at_ms).toISOString();
    log.info('skipped: another run of this job holds its lease', { until });
    return { ran: false, held_by: taken.holder, until };
  }

  // Renewed while the run goes on, so a long sweep is not mistaken for a dead one.
  let beat: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (beat) return;
    beat = db
      .runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        if ((snap.data() as JobLeaseRecord | undefined)?.holder !== holder) return;
        tx.update(ref, { expires_at_ms: options.clock.now().getTime() + leaseMs });
      })
      .catch((error) => log.warn('job lease renewal failed', { error: String(error) }))
      .finally(() => (beat = null));
  }, Math.max(1_000, Math.floor(leaseMs / 3)));
  timer.unref();
  try {
    return { ran: true, value: await run() };
  } finally {
    clearInterval(timer);
    await beat;
    await db
      .runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        if ((snap.data() as JobLeaseRecord | undefined)?.holder === holder) tx.delete(ref);
      })
      .catch((error) => log.warn('job lease not released; it expires on its own', { error: String(error) }));
  }
}
