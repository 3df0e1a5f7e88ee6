import { z } from 'zod';

/**
 * What the CLI expects back from the platform. The schemas are loose on purpose: they check the
 * fields the CLI reads and let the server add fields without breaking older CLIs. They contain no
 * transforms or defaults, so a value that passes is the server's JSON unchanged (`--json` prints it).
 */
const text = z.string().nullable().optional();
const num = z.number().nullable().optional();

export const ProblemSchema = z.looseObject({
  type: z.string().optional(),
  title: z.string(),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  request_id: z.string().optional(),
  errors: z.array(z.looseObject({ path: z.string().optional(), message: z.string().optional() })).optional(),
});
export type ProblemBody = z.infer<typeof ProblemSchema>;

export const LocalTokenSchema = z.looseObject({ token: z.string().min(1), expires_at: z.string().optional() });
export type LocalToken = z.infer<typeof LocalTokenSchema>;

const SubjectSchema = z.looseObject({ type: z.string(), value: z.string(), masked: z.boolean().optional() });

export const StepSchema = z.looseObject({
  index: z.number().int(),
  name: text,
  description: text,
  status: z.string(),
  rows: num,
  estimated_bytes: num,
  bytes_processed: num,
  duration_ms: num,
  sql_hash: text,
  tables: z.array(z.string()).nullable().optional(),
  started_at: text,
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).nullable().optional(),
});
export type Step = z.infer<typeof StepSchema>;

const EvidenceSchema = z.looseObject({
  step: z.string().optional(),
  sql_hash: text,
  row_keys: z.array(z.unknown()).nullable().optional(),
});

export const FindingSchema = z.looseObject({
  id: z.string().optional(),
  type: text,
  severity: z.string(),
  title: z.string(),
  summary: text,
  confidence: num,
  escalate: z.boolean().nullable().optional(),
  evidence: z.array(EvidenceSchema).nullable().optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const RiskSchema = z.looseObject({
  score: z.number(),
  contributions: z
    .array(z.looseObject({ signal: z.string(), points: z.number(), detail: text }))
    .nullable()
    .optional(),
});

export const InvestigationSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  subject: SubjectSchema,
  question: text,
  window_days: num,
  sensitivity: text,
  created_by: z.string(),
  created_at: z.string(),
  updated_at: text,
  assignee: text,
  team: text,
  steps: z.array(StepSchema),
  findings: z.array(FindingSchema),
  risk: RiskSchema.nullable().optional(),
  recommended_action: z.looseObject({ action: z.string(), reason: text }).nullable().optional(),
  summary: text,
  /** Direct answers to the question (absent on older investigations). */
  answers: z.array(z.looseObject({ topic: z.string(), text: z.string() })).nullable().optional(),
  failure_reason: text,
  decision: z
    .looseObject({ outcome: z.string(), rationale: text, closed_by: text, closed_at: text })
    .nullable()
    .optional(),
  attempts: num,
});
export type Investigation = z.infer<typeof InvestigationSchema>;

/** The 202 from POST /v1/investigations: at least the id to follow. */
export const CreatedSchema = z.looseObject({ id: z.string().min(1), status: z.string().optional() });
export type Created = z.infer<typeof CreatedSchema>;

export const InvestigationSummarySchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  subject: SubjectSchema,
  created_by: z.string(),
  created_at: z.string(),
  assignee: text,
  risk_score: num,
  // The list shows the action's name; accept the full object too so the two shapes both render.
  recommended_action: z.union([z.string(), z.looseObject({ action: z.string() })]).nullable().optional(),
});
export type InvestigationSummary = z.infer<typeof InvestigationSummarySchema>;

export const InvestigationPageSchema = z.looseObject({
  items: z.array(InvestigationSummarySchema),
  next_page_token: z.string().nullable().optional(),
});
export type InvestigationPage = z.infer<typeof InvestigationPageSchema>;
