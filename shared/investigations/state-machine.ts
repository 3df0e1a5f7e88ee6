/**
 * The investigation lifecycle, in one pure function. Every state change in the platform goes
 * through `transition`; anything it refuses is a 409 for callers.
 *
 *   queued → running → completed | failed | cancelled;  queued → cancelled
 *   running → queued (the reconciler re-enqueues work whose worker lost its lease)
 *   completed → closed (with a decision);  closed → completed (a lead reopens)
 */
export const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'closed'] as const;
export type Status = (typeof STATUSES)[number];

export type Action = 'start' | 'complete' | 'fail' | 'cancel' | 'requeue' | 'close' | 'reopen';

const TABLE: Record<Action, { from: readonly Status[]; to: Status; verb: string }> = {
  start: { from: ['queued'], to: 'running', verb: 'started' },
  complete: { from: ['running'], to: 'completed', verb: 'completed' },
  fail: { from: ['queued', 'running'], to: 'failed', verb: 'failed' },
  cancel: { from: ['queued', 'running'], to: 'cancelled', verb: 'cancelled' },
  requeue: { from: ['running'], to: 'queued', verb: 're-queued' },
  close: { from: ['completed'], to: 'closed', verb: 'closed' },
  reopen: { from: ['closed'], to: 'completed', verb: 'reopened' },
};

export type TransitionResult = { ok: true; to: Status } | { ok: false; from: Status; action: Action; verb: string };

export function transition(from: Status, action: Action): TransitionResult {
  const rule = TABLE[action];
  return rule.from.includes(from) ? { ok: true, to: rule.to } : { ok: false, from, action, verb: rule.verb };
}

export const TERMINAL: readonly Status[] = ['completed', 'failed', 'cancelled', 'closed'];

export function isTerminal(status: Status): boolean {
  return TERMINAL.includes(status);
}

/** Assignment is not a state change, but it makes no sense on work that is over for good. */
export function canAssign(status: Status): boolean {
  return status !== 'cancelled' && status !== 'failed';
}

export function canComment(_status: Status): boolean {
  return true;
}
