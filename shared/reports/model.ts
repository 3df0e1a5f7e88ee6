import { z } from 'zod';

/**
 * The report document: the stable JSON form of an investigation report, and the single input of the
 * Markdown and HTML renderers. Built from the reader-masked investigation view (build.ts), so it
 * holds personal data only where the reader may see it. Fields are added compatibly; a breaking
 * change bumps `report_version`.
 */
export const REPORT_VERSION = 1;
export const REPORT_FORMATS = ['json', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const Params = z.record(z.string(), z.unknown());

export const ReportEvidenceSchema = z.object({ step: z.string(), sql_hash: z.string(), params: Params, row_keys: z.array(z.string()) });

export const ReportFindingSchema = z.object({
  id: z.string(),
  type: z.string(),
  severity: z.string(),
  confidence: z.number(),
  escalate: z.boolean(),
  title: z.string(),
  summary: z.string(),
  /** Why the data behind this finding may be out of date or incomplete; null when it is not. */
  stale_data: z.string().nullable(),
  /** The oldest newest-timestamp among the fact tables behind the evidence (when the agent recorded it). */
  data_as_of: z.string().nullable(),
  evidence: z.array(ReportEvidenceSchema),
});
export type ReportFinding = z.infer<typeof ReportFindingSchema>;

export const ReportUsageDaySchema = z.object({ date: z.string(), characters: z.number(), requests: z.number(), anomaly: z.boolean() });
export type ReportUsageDay = z.infer<typeof ReportUsageDaySchema>;

export const ReportTimelineSchema = z.object({
  since: z.string(),
  until: z.string(),
  /** One entry per calendar day (UTC) of the window per account, inactive days as 0. */
  accounts: z.array(z.object({ user_id: z.string(), days: z.array(ReportUsageDaySchema), total_characters: z.number(), active_days: z.number().int() })),
  omitted_days: z.number().int(),
});
export type ReportTimeline = z.infer<typeof ReportTimelineSchema>;

export const ReportLinkedAccountSchema = z.object({
  subject_user_id: z.string(),
  linked_user_id: z.string(),
  link_types: z.array(z.string()),
  shared_identifiers: z.number(),
  status: z.string(),
  created_at: z.string(),
});

export const ReportQuerySchema = z.object({
  index: z.number().int(),
  name: z.string(),
  description: z.string(),
  status: z.string(),
  sql_hash: z.string(),
  /** As stored: personal data in parameters is always masked, whoever reads the report. */
  params: Params,
  tables: z.array(z.string()),
  rows: z.number(),
  estimated_bytes: z.number(),
  bytes_processed: z.number().nullable(),
  duration_ms: z.number(),
  freshness: z.record(z.string(), z.string().nullable()),
  started_at: z.string(),
  error: z.string().nullable(),
});
export type ReportQuery = z.infer<typeof ReportQuerySchema>;

export const ReportDocumentSchema = z.object({
  report_version: z.literal(REPORT_VERSION),
  generated_at: z.string(),
  reader: z.object({ email: z.string(), personal_data: z.enum(['shown', 'masked']) }),
  investigation: z.object({
    id: z.string(),
    status: z.string(),
    subject: z.object({ type: z.string(), value: z.string(), masked: z.boolean() }),
    question: z.string().nullable(),
    sensitivity: z.string(),
    created_by: z.string(),
    team: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    assignee: z.string().nullable(),
    window_days: z.number().int(),
    /** The usage window the run read, when known. */
    window: z.object({ since: z.string(), until: z.string() }).nullable(),
    history_days: z.number().int().nullable(),
    planner: z.string(),
    resolved_accounts: z.array(z.string()),
    decision: z.object({ outcome: z.string(), rationale: z.string(), closed_by: z.string(), closed_at: z.string() }).nullable(),
  }),
  /** False for failed or cancelled investigations: the report covers only what ran. */
  complete: z.boolean(),
  notice: z.string().nullable(),
  summary: z.string().nullable(),
  risk: z.object({ score: z.number(), contributions: z.array(z.object({ signal: z.string(), points: z.number(), detail: z.string(), count: z.number().int().min(0).optional() })) }).nullable(),
  recommended_action: z.object({ action: z.string(), reason: z.string() }).nullable(),
  findings: z.array(ReportFindingSchema),
  usage_timeline: ReportTimelineSchema.nullable(),
  linked_accounts: z.object({ items: z.array(ReportLinkedAccountSchema), omitted: z.number().int() }).nullable(),
  queries: z.array(ReportQuerySchema),
});
export type ReportDocument = z.infer<typeof ReportDocumentSchema>;
