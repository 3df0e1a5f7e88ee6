import { z } from 'zod';

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
});
export type Finding = z.infer<typeof FindingSchema>;

export const RiskAssessmentSchema = z.object({
  score: z.number().min(0).max(100),
  contributions: z.array(z.object({ signal: z.string(), points: z.number(), detail: z.string() })),
});
export type RiskAssessment = z.infer<typeof RiskAssessmentSchema>;

export const RecommendedActionSchema = z.object({ action: z.enum(ACTIONS), reason: z.string() });
export type RecommendedAction = z.infer<typeof RecommendedActionSchema>;

export const AgentResultSchema = z.object({
  resolved: z.boolean(),
  accounts: z.array(z.string()),
  steps: z.array(StepRecordSchema),
  findings: z.array(FindingSchema),
  risk: RiskAssessmentSchema,
  recommended_action: RecommendedActionSchema,
  summary: z.string(),
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
