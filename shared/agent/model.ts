import { z } from 'zod';
import { LineageSchema } from '../warehouse/port.js';

/**
 * What an investigation produces. These schemas validate the agent's output and every stored copy
 * of it when read back (investigations/model.ts embeds them), so they change only compatibly.
 */
export const SUBJECT_TYPES = ['email', 'user_id', 'voice_id', 'ip', 'card_fingerprint'] as const;
export const SubjectTypeSchema = z.enum(SUBJECT_TYPES);
export type SubjectType = z.infer<typeof SubjectTypeSchema>;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type FindingSeverity = (typeof SEVERITIES)[number];

export const ACTIONS = ['none', 'monitor', 'warn', 'suspend', 'ban', 'escalate'] as const;
export type Action = (typeof ACTIONS)[number];

/** Finding types this agent reports; `Finding.type` stays a string so stored results survive additions. */
export const FINDING_TYPES = ['account_status', 'linked_accounts', 'ban_evasion', 'impersonation', 'usage_anomaly', 'moderation_history', 'payment_risk'] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export const StepRecordSchema = z.object({
  index: z.number().int().min(1),
  name: z.string(),
  description: z.string(),
  /** Query parameters with personal data masked (contract PII flags). */
  params: z.record(z.string(), z.unknown()),
  status: z.enum(['ok', 'failed']),
  rows: z.number().int().min(0),
  estimated_bytes: z.number().min(0),
  bytes_processed: z.number().min(0).nullable(),
  duration_ms: z.number().min(0),
  /** sha256 of the normalised SQL template. */
  sql_hash: z.string().regex(/^[0-9a-f]{64}$/),
  tables: z.array(z.string()),
  /** Latest partition / creation timestamp per table within what the step read; null if none. */
  freshness: z.record(z.string(), z.string().nullable()),
  started_at: z.string(),
  error: z.string().optional(),
  /** Why the planner chose this step (shown to the analyst). Optional: older results lack it. */
  reason: z.string().optional(),
  /** Tables whose latest timestamp is older than their staleness limit (freshness.ts). */
  stale_tables: z.array(z.string()).optional(),
  /** `adhoc`: SQL a lead ran through the guard (POST /v1/investigations/{id}/queries); absent = planned. */
  kind: z.enum(['planned', 'adhoc']).optional(),
  /** What the warehouse guard recorded for the query (shared/guard); absent on older documents. */
  lineage: LineageSchema.optional(),
  /** The guard rule that refused the query, when it did. */
  refused_by: z.string().optional(),
});
export type StepRecord = z.infer<typeof StepRecordSchema>;

export const EvidenceSchema = z.object({
  /** The step name; with `sql_hash` and `params` the query can be re-run. */
  step: z.string(),
  sql_hash: z.string().regex(/^[0-9a-f]{64}$/),
  params: z.record(z.string(), z.unknown()),
  /** Keys of the rows behind the finding (the step definition says how a row's key is built). */
  row_keys: z.array(z.string()),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export const FindingSchema = z.object({
  id: z.string(),
  type: z.string(),
  severity: z.enum(SEVERITIES),
  /** Never personal data: accounts are named by user_id, voices by voice_id. */
  title: z.string(),
  summary: z.string(),
  confidence: z.number().min(0).max(1),
  escalate: z.boolean(),
  evidence: z.array(EvidenceSchema),
  /** True when a table behind the evidence was stale at the time of the run; the summary says so. */
  stale: z.boolean().optional(),
  /** The oldest "latest timestamp" among the tables behind the evidence: the data is as of this time. */
  data_as_of: z.string().nullable().optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const RiskAssessmentSchema = z.object({
  score: z.number().min(0).max(100),
  /** Every signal that fired, with its points (weights in scoring.ts) and the accounts behind it. */
  contributions: z.array(z.object({ signal: z.string(), points: z.number(), detail: z.string(), count: z.number().int().min(0).optional() })),
});
export type RiskAssessment = z.infer<typeof RiskAssessmentSchema>;

export const RecommendedActionSchema = z.object({ action: z.enum(ACTIONS), reason: z.string() });
export type RecommendedAction = z.infer<typeof RecommendedActionSchema>;

/**
 * Compact observations kept for reports (built in observations.ts). Only user ids, dates, counts,
 * link types and statuses: never emails, IPs or fingerprints, so no masking is needed to show them.
 */
export const UsageTimelineSchema = z.object({
  /** The usage window the step read (`since` inclusive, `until` exclusive), ISO-8601. */
  since: z.string(),
  until: z.string(),
  accounts: z.array(
    z.object({
      user_id: z.string(),
      days: z.array(z.object({ date: z.string(), characters: z.number().min(0), requests: z.number().min(0) })),
    }),
  ),
  /** Days left out to keep the stored document small (0 normally). */
  omitted_days: z.number().int().min(0),
});
export type UsageTimeline = z.infer<typeof UsageTimelineSchema>;

export const LinkedAccountSchema = z.object({
  subject_user_id: z.string(),
  linked_user_id: z.string(),
  link_types: z.array(z.enum(['card', 'device', 'ip'])),
  shared_identifiers: z.number().int().min(0),
  status: z.string(),
  created_at: z.string(),
});
export type LinkedAccount = z.infer<typeof LinkedAccountSchema>;

export const LinkedAccountsSchema = z.object({ items: z.array(LinkedAccountSchema), omitted: z.number().int().min(0) });
export type LinkedAccounts = z.infer<typeof LinkedAccountsSchema>;

export const PLANNERS = ['deterministic', 'llm'] as const;

/** Which planner made the plan, and why the LLM planner's plan was not used when it was asked. */
export const PlanInfoSchema = z.object({
  planner: z.enum(PLANNERS),
  /** full: every pattern check; focused: the checks the question asked for (others were not run). */
  scope: z.enum(['full', 'focused']),
  /** What the deterministic planner read in the question (e.g. voice_users, linked_card, usage_spike). */
  intents: z.array(z.string()),
  /** Set when the LLM planner was asked but its answer was refused; the deterministic plan ran instead. */
  fallback_reason: z.string().optional(),
  model: z.string().optional(),
});
export type PlanInfo = z.infer<typeof PlanInfoSchema>;

/** A direct answer to the analyst's question (not a finding: it carries no risk by itself). */
export const AnswerSchema = z.object({
  topic: z.string(),
  text: z.string(),
  evidence: z.array(EvidenceSchema),
});
export type Answer = z.infer<typeof AnswerSchema>;

export const AgentResultSchema = z.object({
  resolved: z.boolean(),
  accounts: z.array(z.string()),
  steps: z.array(StepRecordSchema),
  findings: z.array(FindingSchema),
  risk: RiskAssessmentSchema,
  recommended_action: RecommendedActionSchema,
  summary: z.string(),
  /** Absent when the usage / linked-accounts step did not run or failed (and in older results). */
  usage_timeline: UsageTimelineSchema.optional(),
  linked_accounts: LinkedAccountsSchema.optional(),
  /** How the steps were chosen (optional only so older results still parse). */
  plan: PlanInfoSchema.optional(),
  /** Direct answers to the question, when it asked something the steps answer. */
  answers: z.array(AnswerSchema).optional(),
});
export type AgentResult = z.infer<typeof AgentResultSchema>;

export const InvestigationInputSchema = z.object({
  subject: z.object({ type: SubjectTypeSchema, value: z.string().trim().min(1).max(320) }),
  question: z.string().max(2000).optional(),
  windowDays: z.number().int().min(1).max(365),
  now: z.date(),
});
export type InvestigationInput = z.infer<typeof InvestigationInputSchema>;

export interface InvestigationHooks {
  /** Called after every step (ok or failed), in order; a throw stops the run. */
  onStep?(step: StepRecord): Promise<void>;
  /** Asked before every step after the first; false stops the run with what it has. */
  shouldContinue?(): Promise<boolean>;
}
