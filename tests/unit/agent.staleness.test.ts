import type { Finding, StepRecord } from '../../shared/agent/model.js';
import { markStaleFindings, STALE_AFTER_HOURS, staleTables } from '../../shared/agent/staleness.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

const step = (name: string, freshness: Record<string, string | null>): StepRecord => ({
  index: 1, name, description: name, params: {}, status: 'ok', rows: 1, estimated_bytes: 0, bytes_processed: null, duration_ms: 1,
  sql_hash: '0'.repeat(64), tables: Object.keys(freshness), freshness, started_at: NOW.toISOString(),
});
const finding = (steps: string[]): Finding => ({
  id: 'fnd_1', type: 'usage_anomaly', severity: 'high', title: 't', summary: 'Account u1 spiked.', confidence: 0.8, escalate: false,
  evidence: steps.map((s) => ({ step: s, sql_hash: '0'.repeat(64), params: {}, row_keys: ['k'] })),
});

describe('stale data', () => {
  it('judges fact tables against their limit, and never dimensions or empty ranges', () => {
    expect(STALE_AFTER_HOURS.fct_tts_usage).toBe(36);
    expect(staleTables({ fct_tts_usage: hoursAgo(35), fct_payments: hoursAgo(71) }, NOW)).toEqual([]);
    expect(staleTables({ fct_tts_usage: hoursAgo(37), fct_payments: hoursAgo(73) }, NOW)).toEqual(['fct_payments', 'fct_tts_usage']);
    expect(staleTables({ dim_users: hoursAgo(24 * 400), fct_logins: null }, NOW)).toEqual([]);
  });

  it('marks a finding whose evidence rests on a stale table, with the date and age in its summary', () => {
    const steps = [step('usage_summary', { fct_tts_usage: hoursAgo(24 * 5) }), step('account_profile', { dim_users: hoursAgo(24 * 90) })];
    const [marked] = markStaleFindings([finding(['usage_summary', 'account_profile'])], steps, NOW);
    expect(marked).toMatchObject({ stale: true, data_as_of: hoursAgo(24 * 5) });
    expect(marked!.summary).toBe('Account u1 spiked. Stale data: fct_tts_usage has nothing newer than 2026-02-24 12:00 UTC (5 days old), so this finding may be out of date.');
  });

  it('leaves a finding on fresh data as it was, with the time its data is as of', () => {
    const steps = [step('usage_summary', { fct_tts_usage: hoursAgo(2) }), step('account_profile', { dim_users: hoursAgo(24 * 90) })];
    const [marked] = markStaleFindings([finding(['usage_summary', 'account_profile'])], steps, NOW);
    expect(marked).toMatchObject({ stale: false, data_as_of: hoursAgo(2), summary: 'Account u1 spiked.' });
    expect(markStaleFindings([finding(['account_profile'])], steps, NOW)[0]).toMatchObject({ stale: false, data_as_of: null });
  });
});
