import { STALE_AFTER_HOURS } from '../../shared/agent/staleness.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { compileQuery } from '../../shared/guard/compile.js';
import {
  DEFAULT_QUALITY_POLICY,
  QualityReportSchema,
  contractProbeSql,
  countOf,
  evaluateContract,
  evaluateFreshness,
  evaluateOutbox,
  evaluateStuck,
  evaluateVolume,
  factStatsSql,
  judgedTables,
  volumeDays,
} from '../../shared/quality/checks.js';
import { QUALITY_ACTOR } from '../../shared/quality/job.js';
import { TABLE_NAMES, columnNames } from '../../shared/warehouse/contract.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const policy = DEFAULT_QUALITY_POLICY;

describe('freshness', () => {
  it('judges exactly the fact tables staleness.ts has a limit for, with its limits', () => {
    expect(judgedTables().sort()).toEqual(Object.keys(STALE_AFTER_HOURS).sort());
    expect(evaluateFreshness('fct_payments', hoursAgo(1), NOW, policy).threshold).toBe(STALE_AFTER_HOURS.fct_payments);
  });

  it('is ok within the limit, warns past 75 % of it, fails past it and when the table has no recent row', () => {
    expect(evaluateFreshness('fct_tts_usage', hoursAgo(10), NOW, policy)).toMatchObject({ name: 'freshness.fct_tts_usage', status: 'ok', value: 10, threshold: 36 });
    expect(evaluateFreshness('fct_tts_usage', hoursAgo(30), NOW, policy).status).toBe('warn');
    const stale = evaluateFreshness('fct_tts_usage', hoursAgo(40), NOW, policy);
    expect(stale).toMatchObject({ status: 'fail', value: 40 });
    expect(stale.detail).toContain('fct_tts_usage has nothing newer than 2026-02-27 20:00 UTC');
    // The same age is fine for a table the agent allows 72 hours.
    expect(evaluateFreshness('fct_moderation_flags', hoursAgo(40), NOW, policy).status).toBe('ok');
    expect(evaluateFreshness('fct_logins', null, NOW, policy)).toMatchObject({ status: 'fail', detail: 'fct_logins has no row in the last 7 days.' });
    expect(evaluateFreshness('fct_logins', new Date(NOW.getTime() + 5 * 3_600_000).toISOString(), NOW, policy).status).toBe('warn');
  });
});

describe('volume', () => {
  it('fails when the counted days hold no row; sparse tables are counted over their staleness window', () => {
    expect(volumeDays('fct_tts_usage')).toBe(1);
    expect(volumeDays('fct_payments')).toBe(3);
    expect(evaluateVolume('fct_tts_usage', 1, 0, 12)).toMatchObject({ status: 'fail', value: 0, detail: 'fct_tts_usage has no row for yesterday (UTC); 12 so far today.' });
    expect(evaluateVolume('fct_payments', 3, 4, 0)).toMatchObject({ status: 'ok', value: 4, detail: 'fct_payments: 4 rows for the last 3 complete UTC days, 0 so far today.' });
  });
});

describe('warehouse contract', () => {
  it('names the missing column when single-column probes single it out', () => {
    const cols = Object.fromEntries(columnNames('fct_payments').map((c) => [c, c === 'amount_usd' ? { ok: false as const, error: 'x' } : { ok: true as const }]));
    const check = evaluateContract('fct_payments', { ok: false, error: 'Query "q" failed: the local engine raised a Binder Error.' }, cols);
    expect(check).toMatchObject({ name: 'contract.fct_payments', status: 'fail', value: 1, detail: 'Missing or unreadable contract column(s): fct_payments.amount_usd.' });
  });

  it('reports a table none of whose columns answers, and a probe that could not run', () => {
    const none = Object.fromEntries(columnNames('dim_voices').map((c) => [c, { ok: false as const, error: 'x' }]));
    expect(evaluateContract('dim_voices', { ok: false, error: 'boom.' }, none).detail).toMatch(/^No contract column of dim_voices answers \(table missing, renamed or unreadable\?\)/);
    expect(evaluateContract('dim_users', { ok: false, error: 'refused by the warehouse guard (rule over-budget).' }, null)).toMatchObject({ status: 'fail', detail: 'dim_users could not be probed: refused by the warehouse guard (rule over-budget).' });
    expect(evaluateContract('dim_users', { ok: true }, null).status).toBe('ok');
  });

  it('sends probes and stats queries the guard accepts for the service role (PII columns counted, never returned)', () => {
    for (const table of TABLE_NAMES) {
      const probe = contractProbeSql(table, columnNames(table), NOW);
      const compiled = compileQuery({ ...probe, actor: QUALITY_ACTOR, origin: 'system', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
      expect([table, compiled.refusals]).toEqual([table, []]);
      expect(compiled.analysis.exposed.size).toBe(0);
    }
    for (const table of judgedTables()) {
      const stats = factStatsSql(table, NOW, policy);
      expect([table, compileQuery({ ...stats, actor: QUALITY_ACTOR, origin: 'system', policy: DEFAULT_GUARD_SETTINGS, now: NOW }).refusals]).toEqual([table, []]);
    }
    // The same probe as free-form SQL would be refused: only reviewed queries may count PII.
    const adhoc = compileQuery({ ...contractProbeSql('dim_users', columnNames('dim_users'), NOW), actor: QUALITY_ACTOR, origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
    expect(adhoc.refusals.map((r) => r.rule)).toContain('pii-not-permitted');
  });
});

describe('platform state', () => {
  it('fails on investigations stuck past lease + margin and on an outbox backlog', () => {
    expect(evaluateStuck([], policy).status).toBe('ok');
    expect(evaluateStuck(['inv_a', 'inv_b'], policy)).toMatchObject({ status: 'fail', value: 2, detail: expect.stringContaining('inv_a, inv_b') });
    expect(evaluateOutbox(0, null, policy).status).toBe('ok');
    expect(evaluateOutbox(3, '2026-03-01T10:00:00.000Z', policy)).toMatchObject({ status: 'fail', value: 3, detail: expect.stringContaining('oldest from 2026-03-01T10:00:00.000Z') });
  });
});

describe('report', () => {
  it('counts statuses and refuses fields outside the model', () => {
    const report = { checked_at: NOW.toISOString(), checks: [evaluateStuck([], policy), evaluateOutbox(1, null, policy)] };
    expect(countOf(QualityReportSchema.parse(report))).toEqual({ ok: 1, warn: 0, fail: 1 });
    expect(QualityReportSchema.safeParse({ ...report, checks: [{ ...report.checks[0], email: 'a@example.com' }] }).success).toBe(false);
  });
});
