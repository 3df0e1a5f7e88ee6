import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINDING_TYPES, type AgentResult, type StepRecord } from '../../shared/agent/model.js';
import { AGENT_ACTOR, runInvestigation, verifyEvidence } from '../../shared/agent/run.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { loadConfig } from '../../shared/platform/config.js';
import { Logger } from '../../shared/platform/logger.js';
import { redactText } from '../../shared/platform/redact.js';
import { WarehouseQueryError } from '../../shared/warehouse/errors.js';
import type { GroundTruth } from '../../shared/warehouse/generator.js';
import { createWarehouse, ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { Warehouse } from '../../shared/warehouse/port.js';

/**
 * The agent against a generated warehouse (200 accounts, fixed seed) through the real DuckDB
 * adapter, checked against the generator's ground truth.
 */
const NOW = new Date('2026-03-01T12:00:00Z');
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-agent-'));
let warehouse: Warehouse;
let truth: GroundTruth;

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 200, seed: 42, logger, clock: new ManualClock(NOW) });
  truth = JSON.parse(readFileSync(localWarehousePaths(dataDir).groundTruth, 'utf8'));
  warehouse = createWarehouse(loadConfig({ TSI_DATA_DIR: dataDir }), { logger, clock: new ManualClock(NOW), audit: null });
});
afterAll(async () => {
  await warehouse.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const investigate = (subject: { type: 'email' | 'user_id' | 'voice_id' | 'ip' | 'card_fingerprint'; value: string }, windowDays = 30, w: Warehouse = warehouse) =>
  runInvestigation({ subject, windowDays, now: NOW }, w, {}, { clock: new ManualClock(NOW) });
const types = (r: AgentResult) => [...new Set(r.findings.map((f) => f.type))].sort();

describe('investigations of the demo subjects', () => {
  const results = new Map<string, AgentResult>();
  beforeAll(async () => {
    for (const demo of truth.demo_subjects) results.set(demo.key, await investigate(demo.subject));
  });

  it('report exactly the expected findings for each demo subject', () => {
    const got = truth.demo_subjects.map((d) => ({ key: d.key, findings: types(results.get(d.key)!), escalate: results.get(d.key)!.findings.some((f) => f.escalate) }));
    const want = truth.demo_subjects.map((d) => ({ key: d.key, findings: d.expected_findings, escalate: d.escalate }));
    expect(got).toEqual(want);
    for (const d of truth.demo_subjects) expect(results.get(d.key)!.accounts).toEqual(d.user_ids);
  });

  it('say a clean account is clean: no findings, score 0, no action', () => {
    const clean = results.get('clean')!;
    expect(clean).toMatchObject({ resolved: true, findings: [], risk: { score: 0, contributions: [] }, recommended_action: { action: 'none' } });
    expect(clean.summary).toMatch(/No abuse signals found/);
    expect(clean.steps.map((s) => s.status)).toEqual(Array(8).fill('ok'));
    expect(clean.plan).toMatchObject({ planner: 'deterministic', scope: 'full' });
    expect(clean.answers).toEqual([]);
  });

  it('say a subject that does not exist was not found, and stop after resolving it', () => {
    const missing = results.get('not_found')!;
    expect(missing).toMatchObject({ resolved: false, accounts: [], findings: [], recommended_action: { action: 'none' } });
    expect(missing.summary).toMatch(/not found/i);
    expect(missing.steps.map((s) => s.name)).toEqual(['resolve_email']);
  });

  it('escalate the critical moderation flag and rank the subjects by risk', () => {
    expect(results.get('critical_flag')!.recommended_action.action).toBe('escalate');
    expect(results.get('ban_evader')!.recommended_action.action).toMatch(/suspend|ban/);
    expect(results.get('spiky')!.recommended_action.action).toBe('monitor');
    expect(results.get('team_member')!.findings).toMatchObject([{ type: 'linked_accounts', severity: 'low' }]);
    expect(results.get('ring_member')!.risk.score).toBeGreaterThan(results.get('team_member')!.risk.score);
  });

  it('cite evidence rows that re-running the step\'s query with its stored params returns', async () => {
    let checked = 0;
    for (const result of results.values()) {
      for (const finding of result.findings) {
        expect(finding.evidence.length).toBeGreaterThan(0);
        for (const evidence of finding.evidence) {
          expect(evidence.row_keys.length).toBeGreaterThan(0);
          const step = result.steps.find((s) => s.name === evidence.step)!;
          expect(evidence.sql_hash).toBe(step.sql_hash);
          const stored = JSON.parse(JSON.stringify(evidence));
          expect(await verifyEvidence(stored, warehouse)).toMatchObject({ missing: [] });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('record every step with its cost, lineage and freshness, and never personal data', () => {
    for (const [key, result] of results) {
      const demo = truth.demo_subjects.find((d) => d.key === key)!;
      for (const step of result.steps) {
        expect(step).toMatchObject({ status: 'ok', sql_hash: expect.stringMatching(/^[0-9a-f]{64}$/), estimated_bytes: expect.any(Number), reason: expect.any(String) });
        expect(step.stale_tables).toBeUndefined();
        expect(Object.keys(step.freshness).sort()).toEqual([...step.tables].sort());
        if (['email', 'ip', 'card_fingerprint'].includes(demo.subject.type)) expect(JSON.stringify(step.params)).not.toContain(demo.subject.value);
      }
      for (const f of result.findings) {
        expect(FINDING_TYPES).toContain(f.type);
        expect(f.stale).toBe(false);
        for (const text of [f.title, f.summary]) {
          expect(redactText(text)).toBe(text);
          expect(text).not.toMatch(/fp_|dev_|@/);
        }
      }
      expect(redactText(result.summary)).toBe(result.summary);
    }
    const usage = results.get('clean')!.steps.find((s) => s.name === 'usage_summary')!;
    expect(usage.freshness.fct_tts_usage! < NOW.toISOString()).toBe(true);
  });
});

describe('investigations against the ground truth', () => {
  it('find exactly the expected patterns on every planted account and nothing on clean ones', async () => {
    const planted = Object.keys(truth.accounts);
    const clean = (await warehouse.query<{ user_id: string }>({ label: 'users', sql: 'SELECT user_id FROM dim_users ORDER BY user_id', params: {}, actor: AGENT_ACTOR })).rows
      .map((r) => r.user_id)
      .filter((id) => !truth.accounts[id])
      .slice(0, 30);
    const mismatches: unknown[] = [];
    for (const id of [...planted, ...clean]) {
      const result = await investigate({ type: 'user_id', value: id });
      const expected = truth.accounts[id] ?? [];
      if (JSON.stringify(types(result)) !== JSON.stringify(expected)) mismatches.push({ id, expected, got: types(result) });
    }
    expect(mismatches).toEqual([]);
  });

  it('only sees a spike inside the requested window', async () => {
    expect(types(await investigate({ type: 'email', value: 'spiky.user@example.com' }, 30))).toEqual(['usage_anomaly']);
    expect(types(await investigate({ type: 'email', value: 'spiky.user@example.com' }, 3))).toEqual([]);
  });

  it('is deterministic: the same subject gives the same findings and ids', async () => {
    const a = await investigate({ type: 'ip', value: '203.0.113.77' });
    const b = await investigate({ type: 'ip', value: '203.0.113.77' });
    expect(b.findings).toEqual(a.findings);
    expect(b.summary).toBe(a.summary);
    expect(a.steps[0]!.params).toMatchObject({ ip: '203.0.*.*' });
  });
});

describe('questions', () => {
  const ask = (subject: Parameters<typeof investigate>[0], question: string) =>
    runInvestigation({ subject, question, windowDays: 30, now: NOW }, warehouse, {}, { clock: new ManualClock(NOW) });

  it('"who is using voice …" runs the voice steps only and answers with the accounts that used it', async () => {
    const r = await ask({ type: 'voice_id', value: 'voice_demo_likeness' }, 'who is using voice voice_demo_likeness?');
    expect(r.steps.map((s) => s.name)).toEqual(['resolve_voice_id', 'account_profile', 'owned_voices', 'voice_users']);
    expect(r.plan).toMatchObject({ planner: 'deterministic', scope: 'focused', intents: ['voice_users'] });
    expect(types(r)).toEqual(['impersonation']);
    const [answer] = r.answers!;
    expect(answer!.topic).toBe('voice_users');
    expect(answer!.text).toMatch(/^Voice voice_demo_likeness \(owned by usr_demo_voice_owner\) was used by 5 accounts in the last 30 days \(4 besides the owner\)/);
    expect(await verifyEvidence(JSON.parse(JSON.stringify(answer!.evidence[0])), warehouse)).toMatchObject({ missing: [] });
    expect(r.summary).toMatch(/Focused on the question: .*were not checked/);
  });

  it('"accounts sharing a card with …" answers with the ring members and their status', async () => {
    const r = await ask({ type: 'email', value: 'ring.member@example.com' }, 'accounts sharing a card with ring.member@example.com');
    expect(r.steps.map((s) => s.name)).toEqual(['resolve_email', 'account_profile', 'linked_accounts', 'ban_evasion_check']);
    expect(r.answers!.map((a) => a.topic)).toEqual(['linked_card']);
    expect(r.answers![0]!.text).toMatch(/share a payment card with .*banned/);
    expect(types(r)).toContain('linked_accounts');
  });

  it('"did usage spike last week" says yes for the spiky account and no (not "clean") for a clean one', async () => {
    const spiky = await ask({ type: 'email', value: 'spiky.user@example.com' }, 'did usage spike last week?');
    expect(spiky.steps.map((s) => s.name)).toEqual(['resolve_email', 'account_profile', 'usage_summary']);
    expect(types(spiky)).toEqual(['usage_anomaly']);
    expect(spiky.answers![0]!.text).toMatch(/^Yes: /);
    const clean = await ask({ type: 'email', value: 'clean.user@example.com' }, 'did usage spike last week?');
    expect(clean.findings).toEqual([]);
    expect(clean.answers![0]!.text).toMatch(/^No: /);
    expect(clean.summary).toMatch(/not a full review/);
    expect(clean.recommended_action.reason).toMatch(/checks the question asked for/);
  });

  it('records the plan of an injected (LLM) planner, with its reasons', async () => {
    const planner = { plan: async () => ({ planner: 'llm' as const, scope: 'focused' as const, intents: [], model: 'm', steps: [
      { index: 1, name: 'resolve_email', description: 'x', args: { value: 'payment.risk@example.com', lookback_days: 365, window_days: 30 }, reason: 'LLM: find it', checks: [] },
      { index: 2, name: 'payment_history', description: 'y', args: { lookback_days: 365 }, reason: 'LLM: payments', checks: ['payment_risk' as const] },
    ] }) };
    const r = await runInvestigation({ subject: { type: 'email', value: 'payment.risk@example.com' }, windowDays: 30, now: NOW }, warehouse, {}, { clock: new ManualClock(NOW), planner });
    expect(r.plan).toMatchObject({ planner: 'llm', model: 'm' });
    expect(r.steps.map((s) => [s.name, s.reason])).toEqual([['resolve_email', 'LLM: find it'], ['payment_history', 'LLM: payments']]);
    expect(types(r)).toEqual(['payment_risk']);
    expect(r.summary).toMatch(/LLM planner/);
  });
});

describe('stale data', () => {
  it('marks a finding built on tables with nothing recent, and says so in its summary', async () => {
    const later = new Date(NOW.getTime() + 4 * 86_400_000);
    const r = await runInvestigation({ subject: { type: 'email', value: 'spiky.user@example.com' }, windowDays: 30, now: later }, warehouse, {}, { clock: new ManualClock(later) });
    const usage = r.steps.find((s) => s.name === 'usage_summary')!;
    expect(usage.stale_tables).toEqual(['fct_tts_usage']);
    const [finding] = r.findings;
    expect(finding).toMatchObject({ type: 'usage_anomaly', stale: true, data_as_of: usage.freshness.fct_tts_usage });
    expect(finding!.summary).toMatch(/Stale data: fct_tts_usage has nothing newer than .* \(\d+ days old\)/);
    expect(r.summary).toMatch(/stale data/);
  });
});

describe('running an investigation', () => {
  it('reports each step as it finishes, in order', async () => {
    const seen: StepRecord[] = [];
    const result = await runInvestigation({ subject: { type: 'email', value: 'ban.evader@example.com' }, windowDays: 30, now: NOW }, warehouse, {
      onStep: async (s) => {
        seen.push(s);
      },
    });
    expect(seen.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of seen) expect(s.reason).toEqual(expect.any(String));
    expect(seen).toEqual(result.steps);
  });

  it('stops when told to, and does not call the partial result clean', async () => {
    let asked = 0;
    const result = await runInvestigation({ subject: { type: 'email', value: 'clean.user@example.com' }, windowDays: 30, now: NOW }, warehouse, {
      shouldContinue: async () => ++asked < 2,
    });
    expect(result.steps.map((s) => s.name)).toEqual(['resolve_email', 'account_profile']);
    expect(result.summary).toMatch(/stopped/);
    expect(result.recommended_action.action).toBe('monitor');
  });

  it('records a failed step, runs the others, and says the result is incomplete', async () => {
    const failing: Warehouse = {
      kind: 'duckdb',
      query: (q) => (q.label === 'payment_history' ? Promise.reject(new WarehouseQueryError(q.label, 'injected failure')) : warehouse.query(q)),
      ping: () => warehouse.ping(),
      close: async () => undefined,
    };
    const result = await investigate({ type: 'email', value: 'payment.risk@example.com' }, 30, failing);
    const failed = result.steps.find((s) => s.name === 'payment_history')!;
    expect(failed).toMatchObject({ status: 'failed', rows: 0, error: 'Query "payment_history" failed: injected failure.' });
    expect(result.steps.filter((s) => s.status === 'ok')).toHaveLength(7);
    expect(result.findings.map((f) => f.type)).not.toContain('payment_risk');
    expect(result.summary).toMatch(/Incomplete: payment_history failed/);
    expect(result.recommended_action.action).not.toBe('none');
  });

  it('fails the run when the subject cannot be resolved, after reporting the failed step', async () => {
    const down: Warehouse = { kind: 'duckdb', query: () => Promise.reject(new WarehouseQueryError('resolve_email', 'down')), ping: async () => undefined, close: async () => undefined };
    const seen: StepRecord[] = [];
    await expect(
      runInvestigation({ subject: { type: 'email', value: 'clean.user@example.com' }, windowDays: 30, now: NOW }, down, { onStep: async (s) => void seen.push(s) }),
    ).rejects.toBeInstanceOf(WarehouseQueryError);
    expect(seen).toMatchObject([{ name: 'resolve_email', status: 'failed' }]);
  });
});
