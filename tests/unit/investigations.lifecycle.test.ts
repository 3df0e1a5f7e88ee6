import type { AgentResult } from '../../shared/agent/model.js';
import { EventTypes } from '../../shared/events/model.js';
import * as life from '../../shared/investigations/lifecycle.js';
import type { InvestigationDoc } from '../../shared/investigations/model.js';
import { InvalidTransitionError } from '../../shared/platform/errors.js';

const t0 = new Date('2026-03-01T10:00:00Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

function created(): InvestigationDoc {
  return life.newInvestigation(
    { subject: { type: 'email', value: 'x@example.com' }, window_days: 30, sensitivity: 'standard' },
    { email: 'analyst@example.com', team: 'trust' },
    t0,
  ).doc;
}

const result: AgentResult = {
  resolved: true,
  accounts: ['u_1'],
  steps: [],
  findings: [],
  risk: { score: 3, contributions: [] },
  recommended_action: { action: 'none', reason: 'No signals.' },
  summary: 'Nothing found.',
};

describe('investigation lifecycle commands', () => {
  it('creates a queued investigation and a requested event without personal data', () => {
    const { doc, events } = life.newInvestigation(
      { subject: { type: 'email', value: 'x@example.com' }, window_days: 7, sensitivity: 'restricted' },
      { email: 'analyst@example.com', team: 'trust' },
      t0,
    );
    expect(doc).toMatchObject({ status: 'queued', created_by: 'analyst@example.com', team: 'trust', attempts: 0, window_days: 7 });
    expect(events.map((e) => e.type)).toEqual([EventTypes.investigationRequested]);
    expect(JSON.stringify(events)).not.toContain('x@example.com');
  });

  it('lets exactly one worker claim queued work; a second claim is a no-op', () => {
    const first = life.claim(created(), 'w1', 'e1', 60_000, t0)!;
    expect(first.doc).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'w1', event_id: 'e1', expires_at: later(60_000).toISOString() } });
    expect(life.claim(first.doc, 'w2', 'e1', 60_000, t0)).toBeNull();
  });

  it('renews the lease with each step and refuses steps from a worker that lost it', () => {
    const running = life.claim(created(), 'w1', 'e1', 1_000, t0)!.doc;
    const step = { index: 0, name: 'resolve_subject', description: 'd', params: {}, status: 'ok', rows: 1, estimated_bytes: 10, bytes_processed: null, duration_ms: 1, sql_hash: 'h', tables: [], freshness: {}, started_at: t0.toISOString() } as never;
    const after = life.recordStep(running, 'w1', step, 1_000, later(500)).doc;
    expect(after.lease!.expires_at).toBe(later(1_500).toISOString());
    expect(() => life.recordStep(running, 'w2', step, 1_000, later(500))).toThrow(life.LeaseLostError);
  });

  it('completes with the agent result and clears the lease', () => {
    const running = life.claim(created(), 'w1', 'e1', 1_000, t0)!.doc;
    const { doc, events } = life.complete(running, 'w1', result, later(10));
    expect(doc).toMatchObject({ status: 'completed', lease: null, summary: 'Nothing found.', resolved_accounts: ['u_1'] });
    expect(events[0]!.data).toMatchObject({ risk_score: 3, recommended_action: 'none' });
  });

  it('requeues expired work with a fresh requested event', () => {
    const running = life.claim(created(), 'w1', 'e1', 1_000, t0)!.doc;
    const { doc, events } = life.requeue(running, later(5_000));
    expect(doc).toMatchObject({ status: 'queued', lease: null, attempts: 1 });
    expect(events.map((e) => e.type)).toEqual([EventTypes.investigationRequeued, EventTypes.investigationRequested]);
  });

  it('closes with a decision, reopens, and refuses what the state machine refuses', () => {
    const done = life.complete(life.claim(created(), 'w1', 'e1', 1_000, t0)!.doc, 'w1', result, t0).doc;
    expect(() => life.reopen(done, 'lead@example.com', t0)).toThrow(InvalidTransitionError);
    const closed = life.close(done, 'lead@example.com', { decision: 'banned', rationale: 'Ban evasion.' }, t0).doc;
    expect(closed.decision).toMatchObject({ outcome: 'banned', closed_by: 'lead@example.com' });
    expect(() => life.cancel(closed, 'lead@example.com', t0)).toThrow(InvalidTransitionError);
    const reopened = life.reopen(closed, 'lead@example.com', t0).doc;
    expect(reopened).toMatchObject({ status: 'completed', decision: null });
    expect(reopened.history.map((h) => h.action)).toEqual(['create', 'start', 'complete', 'close', 'reopen']);
  });
});
