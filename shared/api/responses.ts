import { z } from 'zod';
import {
  AnswerSchema,
  FindingSchema,
  LinkedAccountsSchema,
  PlanInfoSchema,
  RecommendedActionSchema,
  RiskAssessmentSchema,
  StepRecordSchema,
  SUBJECT_TYPES,
  UsageTimelineSchema,
} from '../agent/model.js';
import { AuditRecordSchema } from '../audit/model.js';
import { ROLES } from '../auth/policy.js';
import { ErasureDocSchema, ErasureExtensionSchema, ReceiptSchema } from '../compliance/erasure/model.js';
import { HoldDocSchema } from '../compliance/holds/model.js';
import { PolicySchema } from '../compliance/retention/policy.js';
import { DECISIONS, CommentDocSchema } from '../investigations/model.js';
import { STATUSES } from '../investigations/state-machine.js';
import { AttemptDocSchema, DeliveryDocSchema, SubscriptionDocSchema } from '../webhooks/model.js';
import { pageOf } from './pagination.js';

/**
 * Response schemas of the API: what the presenters return, for the OpenAPI document, the contract
 * tests and the SDK's types. Built from the stored-document schemas where the presenter passes them through.
 */
export const SubjectViewSchema = z
  .object({ type: z.enum(SUBJECT_TYPES), value: z.string(), masked: z.boolean(), erased: z.literal(true).optional() })
  .meta({ id: 'SubjectView', description: 'Personal data is masked unless the caller has investigations.read_pii.' });

export const InvestigationViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(STATUSES),
    subject: SubjectViewSchema,
    question: z.string().nullable(),
    window_days: z.number().int(),
    sensitivity: z.enum(['standard', 'restricted']),
    created_by: z.string(),
    team: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    assignee: z.string().nullable(),
    steps: z.array(StepRecordSchema),
    findings: z.array(FindingSchema),
    risk: RiskAssessmentSchema.nullable(),
    risk_score: z.number().nullable(),
    recommended_action: RecommendedActionSchema.nullable(),
    summary: z.string().nullable(),
    resolved_accounts: z.array(z.string()),
    usage_timeline: UsageTimelineSchema.nullable(),
    linked_accounts: LinkedAccountsSchema.nullable(),
    plan: PlanInfoSchema.nullable(),
    answers: z.array(AnswerSchema).nullable(),
    failure_reason: z.string().nullable(),
    decision: z.object({ outcome: z.enum(DECISIONS), rationale: z.string(), closed_by: z.string(), closed_at: z.string() }).nullable(),
    attempts: z.number().int(),
    comments_count: z.number().int(),
  })
  .meta({ id: 'Investigation' });

export const InvestigationSummaryViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(STATUSES),
    subject: SubjectViewSchema,
    sensitivity: z.enum(['standard', 'restricted']),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    assignee: z.string().nullable(),
    risk_score: z.number().nullable(),
    recommended_action: z.string().nullable(),
    findings_count: z.number().int(),
  })
  .meta({ id: 'InvestigationSummary' });

export const InvestigationPageViewSchema = pageOf(InvestigationSummaryViewSchema).meta({ id: 'InvestigationPage' });
export const CommentViewSchema = CommentDocSchema.meta({ id: 'Comment' });
export const CommentPageSchema = pageOf(CommentViewSchema);

export const AdhocResultSchema = z.object({
  step: z.number().int(),
  rows: z.array(z.record(z.string(), z.unknown())),
  truncated: z.boolean(),
  lineage: z.looseObject({ sql_hash: z.string(), tables: z.array(z.string()) }),
});

export const AuditPageSchema = pageOf(AuditRecordSchema.meta({ id: 'AuditRecord' }));

export const MeSchema = z.object({ email: z.string(), roles: z.array(z.string()), team: z.string().nullable(), permissions: z.array(z.string()) });
export const RoleBindingViewSchema = z
  .object({ email: z.string(), roles: z.array(z.enum(ROLES)), team: z.string().nullable(), updated_by: z.string(), updated_at: z.string() })
  .meta({ id: 'RoleBinding' });

export const FlagViewSchema = z
  .object({
    name: z.string(),
    enabled: z.boolean(),
    default: z.boolean(),
    description: z.string(),
    source: z.enum(['default', 'stored']),
    reason: z.string().nullable(),
    updated_by: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: 'Flag' });

export const SubscriptionViewSchema = SubscriptionDocSchema.omit({ secrets: true })
  .extend({ secrets: z.array(z.object({ id: z.string(), created_at: z.string(), expires_at: z.string().nullable() })) })
  .meta({ id: 'WebhookSubscription' });
export const SubscriptionWithSecretSchema = SubscriptionViewSchema.extend({ secret: z.string().describe('Shown once: sign-verification secret.') });
/** A delivery as admins see it: the stored record without the signed payload and the lease. */
export const DeliveryViewSchema = DeliveryDocSchema.omit({ payload: true, lease_expires_at: true })
  .meta({ id: 'WebhookDelivery' });
export const ReplayResultSchema = z.object({ result: z.unknown(), delivery: DeliveryViewSchema.nullable() });
export const AttemptViewSchema = AttemptDocSchema.meta({ id: 'WebhookAttempt' });

export const HoldViewSchema = HoldDocSchema.meta({ id: 'LegalHold' });
export const ErasureViewSchema = z
  .object({
    id: z.string(),
    status: ErasureDocSchema.shape.status,
    subject: z.object({ type: z.string(), pseudonym: z.string() }),
    requested_by: z.string(),
    requested_at: z.string(),
    due_at: z.string().describe('The deadline in force: the extended one once extended.'),
    original_due_at: z.string().describe('One calendar month after the request.'),
    extension: ErasureExtensionSchema.nullable(),
    due_flag: z.enum(['overdue', 'due_soon']).nullable(),
    days_left: z.number().nullable(),
    blocked_by: ErasureDocSchema.shape.blocked_by,
    completed_at: z.string().nullable(),
    receipt: ReceiptSchema.nullable(),
  })
  .meta({ id: 'ErasureRequest' });
export const ErasurePageSchema = pageOf(ErasureViewSchema).extend({ due_soon: z.number().int() });
export const PolicyListSchema = z.object({ items: z.array(PolicySchema.meta({ id: 'RetentionPolicy' })) });
export const SweepReportSchema = z.looseObject({ dry_run: z.boolean(), started_at: z.string(), finished_at: z.string(), kinds: z.array(z.looseObject({})) });

