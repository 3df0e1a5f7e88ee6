import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { CONTRACT, type TableName } from '../warehouse/contract.js';
import { WarehouseQueryError } from '../warehouse/errors.js';
import { GuardRefusalError } from '../guard/errors.js';
import type { ParamValue, QueryActor, Warehouse, WarehouseQuery } from '../warehouse/port.js';
import { analyse, type FindingDraft, type Observations, type StepOutput } from './analyse.js';
import { maskParams } from './mask.js';
import { linkedAccountList, usageTimeline } from './observations.js';
import {
  AgentResultSchema,
  EvidenceSchema,
  InvestigationInputSchema,
  type AgentResult,
  type Evidence,
  type Finding,
  type InvestigationHooks,
  type InvestigationInput,
  type StepRecord,
} from './model.js';
import { answerQuestion } from './answers.js';
import { deterministicPlanner, HISTORY_DAYS, uncheckedPatterns, type Planner } from './planner.js';
import { INTENTS, type Intent } from './question.js';
import { markStaleFindings, staleTables } from './staleness.js';
import { recommendAction, scoreRisk } from './scoring.js';
import { STEPS, stepInfo, type StepContext, type StepDefinition } from './steps.js';
import { summarise } from './summary.js';

/**
 * Runs an investigation: plan, then each step in order as a guarded warehouse query, then the pure
 * analysis, scoring and summary. Progress is reported step by step through `hooks.onStep`.
 *
 * Failure policy: if resolving the subject fails the run fails (nothing else can run); a later
 * step that fails is recorded as failed, the other steps still run, and the result says it is
 * incomplete (never "clean").
 */
export interface RunOptions {
  clock?: Clock;
  logger?: Logger;
  /** Chooses the steps (default: the deterministic planner; see llm/ for the LLM planner). */
  planner?: Planner;
  /**
   * On whose behalf the guard runs the queries (roles decide the byte budget and PII): the
   * investigation's creator. Default AGENT_ACTOR, the documented service budget.
   */
  actor?: QueryActor;
  /** Audit resource of the queries, e.g. `investigations/inv_123`. */
  resource?: string;
}

/** Who the agent queries as when no creator is given: the `service` role's budget, no PII access. */
export const AGENT_ACTOR: QueryActor = { principal: 'agent@tsi.internal', roles: ['service'] };

const OUTPUT_KEYS: Record<string, keyof Omit<Observations, 'accounts' | 'windowDays' | 'historyDays'>> = {
  account_profile: 'profile',
  usage_summary: 'usage',
  moderation_history: 'moderation',
  linked_accounts: 'linked',
  owned_voices: 'voices',
  payment_history: 'payments',
  ban_evasion_check: 'banEvasion',
  voice_users: 'voiceUsers',
};

export class SubjectResolutionError extends AppError {
  constructor(cause: string) {
    super('subject-resolution-failed', 502, 'Subject could not be resolved', `Resolving the subject failed: ${cause}`);
  }
}

export async function runInvestigation(
  input: InvestigationInput,
  warehouse: Warehouse,
  hooks: InvestigationHooks = {},
  options: RunOptions = {},
): Promise<AgentResult> {
  const { subject, question, windowDays, now } = InvestigationInputSchema.parse(input);
  const clock = options.clock ?? systemClock;
  const log = options.logger?.child({ component: 'agent' });
  const plan = await (options.planner ?? deterministicPlanner).plan({ subject, ...(question ? { question } : {}), windowDays });
  const ctx: StepContext = { now, accounts: [] };
  const asker = { actor: options.actor ?? AGENT_ACTOR, resource: options.resource ?? null };
  const freshness = new FreshnessProbe(warehouse, asker);
  const records: StepRecord[] = [];
  const observations: Observations = { accounts: [], windowDays, historyDays: HISTORY_DAYS, ...usageFocus(plan.steps, now) };
  const failedSteps: string[] = [];
  const truncatedSteps: string[] = [];
  let resolved = false;
  let accountsTruncated = false;
  let stopped = false;

  for (const planned of plan.steps) {
    const def = STEPS[planned.name];
    if (!def) throw new Error(`planner produced an unknown step "${planned.name}"`);
    if (def.needsAccounts && ctx.accounts.length === 0) break;
    if (planned.index > 1 && hooks.shouldContinue && !(await hooks.shouldContinue())) {
      stopped = true;
      break;
    }
    const info = stepInfo(def);
    const params = def.bind(def.args.parse(planned.args), ctx);
    const masked = maskParams(params, def.paramColumns);
    const startedAt = clock.now();
    const base = { index: planned.index, name: def.name, description: def.description, params: masked, sql_hash: info.sqlHash, tables: info.tables, started_at: startedAt.toISOString(), reason: planned.reason };
    const t0 = performance.now();
    let record: StepRecord;
    let rows: Record<string, unknown>[] = [];
    let failure: unknown = null;
    try {
      const result = await warehouse.query({ label: def.name, sql: def.sql, params, maxRows: def.maxRows, origin: 'planned', ...asker });
      rows = result.rows.map((r) => parseRow(def, r));
      if (result.truncated) truncatedSteps.push(def.name);
      record = {
        ...base,
        status: 'ok',
        rows: rows.length,
        estimated_bytes: result.estimatedBytes,
        bytes_processed: result.bytesProcessed,
        duration_ms: result.durationMs,
        freshness: await freshness.forStep(def, params),
        lineage: result.lineage,
      };
    } catch (error) {
      failure = error;
      log?.error('investigation step failed', error, { step: def.name });
      record = {
        ...base,
        status: 'failed',
        rows: 0,
        estimated_bytes: 0,
        bytes_processed: null,
        duration_ms: Math.round(performance.now() - t0),
        freshness: Object.fromEntries(info.tables.map((t) => [t, null])),
        error: safeMessage(error),
        ...(error instanceof GuardRefusalError ? { refused_by: error.rule } : {}),
      };
    }
    const stale = staleTables(record.freshness, now);
    if (stale.length) record.stale_tables = stale;
    records.push(record);
    await hooks.onStep?.(record);

    if (!def.needsAccounts) {
      if (failure) throw failure instanceof AppError ? failure : new SubjectResolutionError(safeMessage(failure));
      ctx.accounts = [...new Set(rows.map((r) => String(r.user_id)))].sort();
      accountsTruncated = truncatedSteps.includes(def.name);
      resolved = ctx.accounts.length > 0;
      observations.accounts = ctx.accounts;
      continue;
    }
    if (failure) {
      failedSteps.push(def.name);
      continue;
    }
    const key = OUTPUT_KEYS[def.name];
    if (key) (observations as unknown as Record<string, StepOutput<unknown>>)[key] = output(def, masked, rows);
  }

  const drafts = resolved ? analyse(observations) : [];
  const findings = markStaleFindings(drafts.map(toFinding), records, now);
  const risk = scoreRisk(drafts.flatMap((d) => d.signals));
  const incomplete = failedSteps.length > 0 || stopped;
  const unchecked = plan.scope === 'focused' ? uncheckedPatterns(plan.steps) : [];
  const action = recommendAction({ resolved, findings, risk, incomplete, focused: unchecked.length > 0 });
  const summary = summarise({
    subjectType: subject.type,
    resolved,
    accounts: ctx.accounts,
    accountsTruncated,
    findings,
    risk,
    action,
    windowDays,
    historyDays: HISTORY_DAYS,
    failedSteps,
    truncatedSteps: truncatedSteps.filter((n) => STEPS[n]?.needsAccounts),
    stopped,
    unchecked: resolved ? unchecked : [],
    ...planNote(plan),
  });
  const { steps: _planned, ...planInfo } = plan;
  // The plan records what the question asked (both planners read it once); answers follow it.
  const intents = plan.intents.filter((i): i is Intent => (INTENTS as readonly string[]).includes(i));
  const answers = resolved ? answerQuestion(intents, observations) : [];
  log?.info('investigation finished', { steps: records.length, findings: findings.length, risk_score: risk.score, action: action.action });
  // Compact copies for reports (no personal data in these rows); absent when the step did not succeed.
  const usageParams = records.find((r) => r.name === 'usage_summary' && r.status === 'ok')?.params;
  const usage_timeline = observations.usage && usageParams ? usageTimeline(observations.usage.rows, String(usageParams.since), String(usageParams.until)) : undefined;
  const linked_accounts = observations.linked ? linkedAccountList(observations.linked.rows) : undefined;
  return AgentResultSchema.parse({
    resolved,
    accounts: ctx.accounts,
    steps: records,
    findings,
    risk,
    recommended_action: action,
    summary,
    ...(usage_timeline ? { usage_timeline } : {}),
    ...(linked_accounts ? { linked_accounts } : {}),
    plan: planInfo,
    answers,
  });
}

/** A question's period narrows where spikes are reported; the usage step's own window is the baseline. */
function usageFocus(steps: readonly { name: string; args: Record<string, unknown> }[], now: Date): Pick<Observations, 'usageFocusSince' | 'usageWindowDays'> {
  const usage = steps.find((s) => s.name === 'usage_summary');
  const windowDays = typeof usage?.args.window_days === 'number' ? usage.args.window_days : undefined;
  const focus = typeof usage?.args.focus_days === 'number' ? usage.args.focus_days : undefined;
  return {
    ...(windowDays ? { usageWindowDays: windowDays } : {}),
    ...(focus ? { usageFocusSince: new Date(now.getTime() - focus * 86_400_000).toISOString().slice(0, 10) } : {}),
  };
}

function planNote(plan: { planner: string; fallback_reason?: string }): { planNote?: string } {
  if (plan.planner === 'llm') return { planNote: 'Steps chosen by the LLM planner (validated against the typed steps).' };
  if (plan.fallback_reason) return { planNote: `The LLM planner's plan was not used (${plan.fallback_reason}); the deterministic plan ran.` };
  return {};
}

function parseRow(def: StepDefinition<any, any>, row: Record<string, unknown>): Record<string, unknown> {
  const parsed = def.row.safeParse(row);
  if (!parsed.success) throw new WarehouseQueryError(def.name, 'the rows do not have the expected shape (does the warehouse follow the contract?)');
  return parsed.data as Record<string, unknown>;
}

function safeMessage(error: unknown): string {
  return error instanceof AppError ? (error.detail ?? error.title) : 'The warehouse query failed.';
}

function output(def: StepDefinition<any, any>, params: Record<string, unknown>, rows: Record<string, unknown>[]): StepOutput<unknown> {
  const { sqlHash } = stepInfo(def);
  return {
    rows,
    cite: (rowKeys) => ({ step: def.name, sql_hash: sqlHash, params, row_keys: [...new Set(rowKeys)] }),
  };
}

function toFinding(d: FindingDraft): Finding {
  const keys = d.evidence.flatMap((e) => e.row_keys.map((k) => `${e.step}:${k}`)).sort();
  const id = `fnd_${createHash('sha256').update(`${d.type}\n${keys.join('\n')}`).digest('hex').slice(0, 20)}`;
  const { signals: _signals, ...finding } = d;
  return { id, ...finding, confidence: Math.round(d.confidence * 100) / 100 };
}

/**
 * The latest timestamp each table holds within the time range a step read: the partition column
 * for facts (bounded by the step's own `since`/`until`, so the probe never scans more than the step),
 * creation time for dimensions. Asked once per table and range per run; a failed probe gives null.
 */
class FreshnessProbe {
  private readonly cache = new Map<string, Promise<string | null>>();
  constructor(
    private readonly warehouse: Warehouse,
    private readonly asker: { actor: QueryActor; resource: string | null },
  ) {}

  async forStep(def: StepDefinition<any, any>, params: Record<string, ParamValue>): Promise<Record<string, string | null>> {
    const since = params.window_since instanceof Date ? params.window_since : params.since instanceof Date ? params.since : null;
    const until = params.until instanceof Date ? params.until : null;
    const entries = await Promise.all(stepInfo(def).tables.map(async (t) => [t, await this.latest(t, since, until)] as const));
    return Object.fromEntries(entries);
  }

  private latest(table: TableName, since: Date | null, until: Date | null): Promise<string | null> {
    const spec = CONTRACT[table];
    const column = spec.freshnessColumn;
    const bounded = spec.partitionColumn !== null;
    const key = bounded ? `${table}|${since?.toISOString()}|${until?.toISOString()}` : table;
    let p = this.cache.get(key);
    if (!p) {
      const q: WarehouseQuery =
        bounded && since && until
          ? { label: `freshness_${table}`, sql: `SELECT MAX(${column}) AS latest FROM ${table} WHERE ${column} >= @since AND ${column} < @until`, params: { since, until }, maxRows: 1, origin: 'system', ...this.asker }
          : { label: `freshness_${table}`, sql: `SELECT MAX(${column}) AS latest FROM ${table}`, params: {}, maxRows: 1, origin: 'system', ...this.asker };
      if (bounded && !(since && until)) {
        p = Promise.resolve(null);
      } else {
        p = this.warehouse
          .query<{ latest: string | null }>(q)
          .then((r) => r.rows[0]?.latest ?? null)
          .catch(() => null);
      }
      this.cache.set(key, p);
    }
    return p;
  }
}

/**
 * The query behind a piece of evidence, rebuilt from what is stored with the finding. Refuses
 * evidence whose step template changed since (hash mismatch) or whose parameters were masked.
 */
export function evidenceQuery(evidence: Evidence, actor: QueryActor = AGENT_ACTOR): { query: WarehouseQuery; rowKey(row: Record<string, unknown>): string } {
  const e = EvidenceSchema.parse(evidence);
  const def = STEPS[e.step];
  if (!def) throw new Error(`Unknown step "${e.step}"`);
  const info = stepInfo(def);
  if (info.sqlHash !== e.sql_hash) throw new Error(`The template of step "${e.step}" changed since this evidence was recorded`);
  if (info.piiParams) throw new Error(`Step "${e.step}" takes personal data; its stored parameters are masked and cannot be replayed`);
  const params = def.params.parse(e.params);
  return { query: { label: def.name, sql: def.sql, params, maxRows: def.maxRows, actor, origin: 'planned' }, rowKey: (row) => def.rowKey(def.row.parse(row)) };
}

/** Re-runs the evidence's query and reports which of its row keys the warehouse no longer returns. */
export async function verifyEvidence(evidence: Evidence, warehouse: Warehouse, actor: QueryActor = AGENT_ACTOR): Promise<{ missing: string[]; returned: number }> {
  const { query, rowKey } = evidenceQuery(evidence, actor);
  const result = await warehouse.query(query);
  const keys = new Set(result.rows.map(rowKey));
  return { missing: evidence.row_keys.filter((k) => !keys.has(k)), returned: result.rows.length };
}
