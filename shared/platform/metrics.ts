import type { Logger } from './logger.js';

/**
 * The metric names the code emits as structured log fields (`metric.name`) and the log-based
 * metrics in terraform/modules/platform/monitoring.tf read. Renaming one here means renaming its
 * filter there (tests/infra/terraform.test.ts checks every name has a metric).
 */
export const METRICS = {
  /** An investigation run finished: value = duration (ms), label outcome = completed | failed. */
  investigationRun: 'investigation.run',
  /** The reconciler re-queued (or gave up on) work whose lease expired: label reason. */
  investigationRequeued: 'investigation.requeued',
  /** The query guard refused a warehouse query: label rule. */
  guardRefusal: 'guard.refusal',
  /** A webhook delivery failed: label reason. */
  webhookFailure: 'webhook.failure',
  /** A scheduled job run finished: value = duration (ms), labels job and outcome = ok | failed. */
  jobRun: 'job.run',
} as const;
export type MetricName = (typeof METRICS)[keyof typeof METRICS];

export function recordInvestigationRun(logger: Logger, outcome: 'completed' | 'failed', durationMs: number): void {
  logger.metric({ name: METRICS.investigationRun, value: Math.max(0, Math.round(durationMs)), unit: 'ms', labels: { outcome } });
}

export function recordRequeued(logger: Logger, reason: 'lease_expired' | 'max_attempts' | 'never_published'): void {
  logger.metric({ name: METRICS.investigationRequeued, value: 1, labels: { reason } });
}

export function recordGuardRefusal(logger: Logger, rule: string): void {
  logger.metric({ name: METRICS.guardRefusal, value: 1, labels: { rule } });
}

export function recordWebhookFailure(logger: Logger, reason: string): void {
  logger.metric({ name: METRICS.webhookFailure, value: 1, labels: { reason } });
}

export function recordJobRun(logger: Logger, job: string, outcome: 'ok' | 'failed', durationMs: number): void {
  logger.metric({ name: METRICS.jobRun, value: Math.max(0, Math.round(durationMs)), unit: 'ms', labels: { job, outcome } });
}
