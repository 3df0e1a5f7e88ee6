import {
  clean,
  createStyle,
  formatBytes,
  formatTime,
  renderInvestigation,
  renderList,
  renderNextPageHint,
  renderProblem,
  renderStepLine,
  shellQuote,
  useColour,
} from '../../cli/render.js';
import { InvestigationSchema, type Investigation, type Step } from '../../cli/schemas.js';

const plain = createStyle(false);
const ESC = '\x1b';

function step(over: Partial<Step> = {}): Step {
  return {
    index: 1,
    name: 'resolve_accounts',
    description: 'Resolve accounts for the subject',
    params: {},
    status: 'completed',
    rows: 3,
    estimated_bytes: 1536,
    bytes_processed: 1024,
    duration_ms: 42,
    sql_hash: 'abc123',
    tables: ['dbt_marts.users'],
    freshness: null,
    started_at: '2026-01-01T00:00:01.000Z',
    ...over,
  };
}

function investigation(over: Partial<Investigation> = {}): Investigation {
  return InvestigationSchema.parse({
    id: 'inv_01jabc',
    status: 'completed',
    subject: { type: 'email', value: 'j***@example.com', masked: true },
    question: 'Is this account cloning voices?',
    window_days: 30,
    sensitivity: 'standard',
    created_by: 'analyst@example.com',
    created_at: '2026-01-01T10:00:00.123Z',
    updated_at: '2026-01-01T10:00:05.000Z',
    assignee: null,
    team: 'fraud',
    steps: [step(), step({ index: 2, description: 'Voice clone reports', rows: 14, estimated_bytes: 5 * 1024 * 1024, duration_ms: 120 })],
    findings: [
      {
        id: 'f1',
        type: 'voice_clone_abuse',
        severity: 'high',
        title: 'Cloned a celebrity voice',
        summary: 'Three reports name this account.',
        confidence: 0.82,
        escalate: true,
        evidence: [
          { step: 'usage_timeline', sql_hash: 'h2', params: {}, row_keys: ['r1', 'r2', 'r3'] },
          { step: 'usage_timeline', sql_hash: 'h2', params: {}, row_keys: ['r4'] },
        ],
      },
    ],
    risk: { score: 72, contributions: [{ signal: 'clone_reports', points: 40, detail: '3 reports in 30 days' }, { signal: 'account_age', points: -5, detail: 'old account' }] },
    recommended_action: { action: 'suspend', reason: 'Repeated cloning of a protected voice.' },
    summary: 'The account cloned a protected voice.\nReports are consistent.',
    failure_reason: null,
    decision: null,
    attempts: 1,
    ...over,
  });
}

describe('tsi rendering', () => {
  describe('colour', () => {
    it('colours only on a terminal without NO_COLOR', () => {
      expect(useColour(true, {})).toBe(true);
      expect(useColour(false, {})).toBe(false);
      expect(useColour(undefined, {})).toBe(false);
      expect(useColour(true, { NO_COLOR: '1' })).toBe(false);
    });

    it('plain output carries no escape codes; coloured output does', () => {
      expect(renderInvestigation(investigation(), plain)).not.toContain(ESC);
      expect(renderInvestigation(investigation(), createStyle(true))).toContain(`${ESC}[32mcompleted`);
    });
  });

  describe('numbers and times', () => {
    it('prints bytes in binary units', () => {
      expect(formatBytes(0)).toBe('0 B');
      expect(formatBytes(1023)).toBe('1023 B');
      expect(formatBytes(1536)).toBe('1.5 KiB');
      expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
      expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
      expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
      expect(formatBytes(null)).toBe('—');
    });

    it('prints times in UTC to the second', () => {
      expect(formatTime('2026-01-01T10:00:00.123Z')).toBe('2026-01-01 10:00:00Z');
      expect(formatTime('2026-01-01T12:00:00+02:00')).toBe('2026-01-01 10:00:00Z');
      expect(formatTime(null)).toBe('—');
    });
  });

  describe('progress lines', () => {
    it('shows index, description, rows, estimated bytes, duration and status on one line', () => {
      expect(renderStepLine(step(), plain)).toBe('  1. Resolve accounts for the subject  · 3 rows · est. 1.5 KiB · 42 ms · completed');
    });

    it('shows why a step failed', () => {
      const line = renderStepLine(step({ status: 'failed', rows: null, error: 'byte budget exceeded' }), plain);
      expect(line).toContain('— rows');
      expect(line).toMatch(/failed: byte budget exceeded$/);
    });

    it('falls back to the step name and says "1 row"', () => {
      expect(renderStepLine(step({ description: null, rows: 1 }), plain)).toContain('1. resolve_accounts  · 1 row ·');
    });
  });

  describe('an investigation', () => {
    const text = renderInvestigation(investigation(), plain);

    it('has a header with id, status, subject (masked), creator, time and window', () => {
      expect(text).toMatch(/^Investigation inv_01jabc {2}completed\n/);
      expect(text).toContain('subject    email j***@example.com (masked)');
      expect(text).toContain('created    2026-01-01 10:00:00Z by analyst@example.com');
      expect(text).toContain('window     30 days, standard sensitivity');
      expect(text).toContain('question   Is this account cloning voices?');
    });

    it('answers the question directly, before the summary, when the agent answered it', () => {
      const answered = renderInvestigation(investigation({ answers: [{ topic: 'usage_spike', text: 'Yes: usr_1 synthesised 1,491,126 characters on 2026-11-21.' }] }), plain);
      expect(answered).toMatch(/Answer\n {2}Yes: usr_1 synthesised 1,491,126 characters on 2026-11-21\.\n[\s\S]*Summary/);
      expect(text).not.toContain('Answer\n');
    });

    it('has a steps table with aligned columns', () => {
      const lines = text.split('\n');
      const header = lines.findIndex((l) => l.includes('EST. BYTES'));
      expect(lines[header]).toBe('  #  STEP                              ROWS  EST. BYTES   MS  STATUS');
      expect(lines[header + 1]).toBe('  1  Resolve accounts for the subject     3     1.5 KiB   42  completed');
      expect(lines[header + 2]).toBe('  2  Voice clone reports                 14     5.0 MiB  120  completed');
    });

    it('lists findings with severity, summary, confidence, escalation and evidence counts', () => {
      expect(text).toContain('HIGH  Cloned a celebrity voice');
      expect(text).toContain('    Three reports name this account.');
      expect(text).toContain('confidence 82% · escalate · evidence: 2 citations from 1 step, 4 rows');
    });

    it('shows the risk score with signed contributions', () => {
      expect(text).toContain('Risk score 72');
      expect(text).toMatch(/\+40 {2}clone_reports {2}3 reports in 30 days/);
      expect(text).toMatch(/-5 {2}account_age {4}old account/);
    });

    it('shows the recommended action, its reason and a multi-line summary', () => {
      expect(text).toContain('Recommended action suspend\n  Repeated cloning of a protected voice.');
      expect(text).toContain('Summary\n  The account cloned a protected voice.\n  Reports are consistent.');
    });

    it('can leave the steps out (investigate printed them already)', () => {
      expect(renderInvestigation(investigation(), plain, { steps: false })).not.toContain('EST. BYTES');
    });

    it('says plainly when a completed investigation found nothing', () => {
      const none = renderInvestigation(investigation({ findings: [], risk: null, recommended_action: null, summary: null }), plain);
      expect(none).toContain('Findings (0)\n  none: nothing found on this subject');
      expect(none).not.toContain('Risk score');
    });

    it('shows the failure reason and step errors of a failed one', () => {
      const failed = renderInvestigation(
        investigation({
          status: 'failed',
          steps: [step({ status: 'failed', error: { message: 'warehouse unavailable' } })],
          findings: [],
          risk: null,
          recommended_action: null,
          summary: null,
          failure_reason: 'The warehouse did not answer after 3 attempts.',
        }),
        plain,
      );
      expect(failed).toContain('step 1: warehouse unavailable');
      expect(failed).toContain('Failure\n  The warehouse did not answer after 3 attempts.');
      expect(failed).toContain('Findings (0)\n  none yet');
    });

    it('shows the decision of a closed one', () => {
      const closed = renderInvestigation(
        investigation({
          status: 'closed',
          decision: { outcome: 'suspended', rationale: 'Confirmed abuse.', closed_by: 'lead@example.com', closed_at: '2026-01-02T09:00:00Z' },
        }),
        plain,
      );
      expect(closed).toContain('Decision suspended by lead@example.com at 2026-01-02 09:00:00Z\n  Confirmed abuse.');
    });

    it('strips terminal escape sequences from server-supplied text', () => {
      const hostile = renderInvestigation(investigation({ question: `hi${ESC}]0;pwned\x07 there`, summary: `a\rb` }), plain);
      expect(hostile).not.toContain(ESC);
      expect(hostile).not.toContain('\r');
      expect(clean('tab\tand\nnewline')).toBe('tab\tand\nnewline');
    });
  });

  describe('the list', () => {
    it('prints a table of id, status, subject, creator, time, risk and action', () => {
      const text = renderList(
        [
          {
            id: 'inv_1',
            status: 'completed',
            subject: { type: 'email', value: 'j***@example.com', masked: true },
            created_by: 'analyst@example.com',
            created_at: '2026-01-01T10:00:00Z',
            risk_score: 72,
            recommended_action: 'suspend',
          },
          { id: 'inv_22', status: 'queued', subject: { type: 'ip', value: '2001:db8::1' }, created_by: 'lead@example.com', created_at: '2026-01-01T11:00:00Z', risk_score: null, recommended_action: null },
        ],
        plain,
      );
      expect(text.split('\n')).toEqual([
        'ID      STATUS     SUBJECT                 CREATED BY           CREATED               RISK  ACTION',
        'inv_1   completed  email j***@example.com  analyst@example.com  2026-01-01 10:00:00Z    72  suspend',
        'inv_22  queued     ip 2001:db8::1          lead@example.com     2026-01-01 11:00:00Z     —  —',
        '',
      ]);
    });

    it('says so when nothing matches', () => {
      expect(renderList([], plain)).toBe('No investigations match.\n');
    });

    it('hints at the command for the next page, keeping the filters', () => {
      expect(renderNextPageHint('tok/123=', { status: 'completed', page_size: 5 })).toBe(
        'More results: tsi list --status completed --page-size 5 --page-token tok/123=  (or --all)\n',
      );
      expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    });
  });

  describe('problems', () => {
    it('prints title and detail', () => {
      expect(renderProblem({ type: 'https://tsi.dev/problems/forbidden', title: 'Permission denied', status: 403, detail: 'Your roles do not grant "x".' })).toBe(
        'error: Permission denied: Your roles do not grant "x".\n',
      );
    });

    it('lists every invalid field when there are several, and the request id of a server error', () => {
      expect(
        renderProblem({
          title: 'Request is not valid',
          status: 400,
          detail: 'body.window_days: too big',
          errors: [
            { path: 'body.window_days', message: 'too big' },
            { path: 'body.question', message: 'too long' },
          ],
        }),
      ).toBe('error: Request is not valid: body.window_days: too big\n  - body.window_days: too big\n  - body.question: too long\n');
      expect(renderProblem({ title: 'Internal error', status: 500, request_id: 'req-9' })).toBe('error: Internal error\n  (request_id req-9)\n');
    });
  });
});
