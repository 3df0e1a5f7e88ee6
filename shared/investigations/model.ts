import { isIP } from 'node:net';
import { z } from 'zod';
import {
  AnswerSchema,
  FindingSchema,
  LinkedAccountsSchema,
  RecommendedActionSchema,
  PlanInfoSchema,
  RiskAssessmentSchema,
  StepRecordSchema,
  SUBJECT_TYPES,
  UsageTimelineSchema,
  type SubjectType,
} from '../agent/model.js';
import { subjectFromQuestion } from '../agent/question.js';
import { STATUSES } from './state-machine.js';

export { SUBJECT_TYPES, type SubjectType };
/** Subject types whose values are personal data (warehouse contract: PII columns). */
export const PII_SUBJECT_TYPES: readonly SubjectType[] = ['email', 'ip', 'card_fingerprint'];

const ID_VALUE = /^[A-Za-z0-9_.:-]{1,128}$/;
const FINGERPRINT = /^[A-Za-z0-9_:+/=.-]{4,128}$/;

export const SubjectSchema = z
  .strictObject({
    type: z.enum(SUBJECT_TYPES),
    value: z.string().trim().min(1).max(320),
  })
  .superRefine((s, ctx) => {
    const bad = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    if (s.type === 'email' && !z.email().safeParse(s.value).success) bad('must be an email address');
    if ((s.type === 'user_id' || s.type === 'voice_id') && !ID_VALUE.test(s.value)) bad('must be 1-128 letters, digits or _ . : -');
    if (s.type === 'ip' && !isIP(s.value)) bad('must be an IPv4 or IPv6 address');
    if (s.type === 'card_fingerprint' && !FINGERPRINT.test(s.value)) bad('must be a card fingerprint (4-128 characters, never a card number)');
  })
  .transform((s) => ({ type: s.type, value: s.type === 'email' ? s.value.toLowerCase() : s.value }));
export type Subject = z.infer<typeof SubjectSchema>;

/**
 * `subject` may be left out when the question names one (an email, user id, voice id, IP or card
 * fingerprint: agent/question.ts, deterministic, the first one mentioned); the subject is then
 * filled in here, so everything downstream always has one.
 */
export const CreateInvestigationSchema = z
  .strictObject({
    subject: SubjectSchema.optional(),
    question: z.string().trim().min(1).max(2000).optional(),
    window_days: z.number().int().min(1).max(90).default(30),
    sensitivity: z.enum(['standard', 'restricted']).default('standard'),
  })
  .transform((input, ctx) => {
    if (input.subject) return { ...input, subject: input.subject };
    const named = input.question ? subjectFromQuestion(input.question) : null;
    const parsed = named ? SubjectSchema.safeParse(named) : null;
    if (!parsed?.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['subject'],
        message: input.question
          ? 'required: the question names no subject (an email, user id, voice id, IP address or card fingerprint); give subject {type, value}'
          : 'required: give subject {type, value}, or a question that names one',
      });
      return z.NEVER;
    }
    return { ...input, subject: parsed.data };
  });
export type CreateInvestigation = z.infer<typeof CreateInvestigationSchema>;

export const DECISIONS = ['no_action', 'warned', 'suspended', 'banned', 'escalated', 'false_positive'] as const;
export type Decision = (typeof DECISIONS)[number];

export const AssignSchema = z.strictObject({ assignee: z.email().max(320).transform((s) => s.toLowerCase()) });
export const CloseSchema = z.strictObject({ decision: z.enum(DECISIONS), rationale: z.string().trim().min(1).max(4000) });
export const EmptySchema = z.strictObject({});
export const CommentSchema = z.strictObject({ body: z.string().trim().min(1).max(10_000) });

export const ListQuerySchema = z.strictObject({
  status: z.enum(STATUSES).optional(),
  created_by: z.email().max(320).transform((s) => s.toLowerCase()).optional(),
  assignee: z.email().max(320).transform((s) => s.toLowerCase()).optional(),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
  page_token: z.string().max(200).optional(),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

const HistoryEntrySchema = z.object({ at: z.string(), actor: z.string(), action: z.string(), from: z.string().nullable(), to: z.string().nullable() });

/**
 * The subject as stored (docs/decisions/0011): the value only as a field envelope (AES-256-GCM
 * under the subject's data key), the keyed blind index for lookups, and the masked display form
 * every reader may see. Never the value itself.
 */
export const SealedSubjectSchema = z.object({ type: z.enum(SUBJECT_TYPES), index: z.string(), display: z.string(), sealed: z.string() });
export type SealedSubject = z.infer<typeof SealedSubjectSchema>;
/** The subject in clear: in memory only (new, or revealed for a reader); `erased` once its key is destroyed. */
export const PlainSubjectSchema = z.object({ type: z.enum(SUBJECT_TYPES), value: z.string(), erased: z.literal(true).optional() });
export type PlainSubject = z.infer<typeof PlainSubjectSchema>;

export function isSealedSubject(subject: SealedSubject | PlainSubject): subject is SealedSubject {
  return 'sealed' in subject;
}

/** The stored document, validated whenever it is read back. */
export const InvestigationDocSchema = z.object({
  id: z.string(),
  status: z.enum(STATUSES),
  // Plain only in memory (and in documents written before encryption; rewritten sealed on their next change).
  subject: z.union([SealedSubjectSchema, PlainSubjectSchema]),
  /** In clear only in memory; stored as `question_sealed` (it often names the subject). */
  question: z.string().nullable(),
  question_sealed: z.string().optional(),
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
  recommended_action: RecommendedActionSchema.nullable(),
  summary: z.string().nullable(),
  resolved_accounts: z.array(z.string()),
  /** Kept for reports; absent on documents written before they existed. */
  usage_timeline: UsageTimelineSchema.nullable().optional(),
  linked_accounts: LinkedAccountsSchema.nullable().optional(),
  plan: PlanInfoSchema.nullable().optional(),
  answers: z.array(AnswerSchema).nullable().optional(),
  failure_reason: z.string().nullable(),
  decision: z
    .object({ outcome: z.enum(DECISIONS), rationale: z.string(), closed_by: z.string(), closed_at: z.string() })
    .nullable(),
  attempts: z.number().int(),
  lease: z.object({ owner: z.string(), event_id: z.string(), expires_at: z.string() }).nullable(),
  comments_count: z.number().int(),
  /** `findings.length`, set by the store on every write so a list need not read the findings; absent on older documents. */
  findings_count: z.number().int().optional(),
  history: z.array(HistoryEntrySchema),
  /** Markers of erasure and anonymisation (shared/compliance): kept by every later write, so erased data stays marked erased. */
  erased_at: z.string().optional(),
  erasure_id: z.string().optional(),
  anonymised_at: z.string().optional(),
  anonymised_by: z.string().optional(),
  mentions_erased_at: z.string().optional(),
});
export type InvestigationDoc = z.infer<typeof InvestigationDocSchema>;

/**
 * Every field the agent's result fills (complete() sets them; anonymisation and erasure empty
 * them). One list, so a new result field cannot be forgotten by the paths that must remove it.
 */
export function emptyResult(): Pick<InvestigationDoc, 'steps' | 'findings' | 'findings_count' | 'risk' | 'recommended_action' | 'summary' | 'resolved_accounts' | 'usage_timeline' | 'linked_accounts' | 'plan' | 'answers'> {
  return { steps: [], findings: [], findings_count: 0, risk: null, recommended_action: null, summary: null, resolved_accounts: [], usage_timeline: null, linked_accounts: null, plan: null, answers: null };
}

export const CommentDocSchema = z.object({ id: z.string(), author: z.string(), body: z.string(), created_at: z.string() });
export type CommentDoc = z.infer<typeof CommentDocSchema>;

/** Masks a personal-data subject value for callers without PII access. */
export function maskSubjectValue(type: SubjectType, value: string): string {
  if (!PII_SUBJECT_TYPES.includes(type)) return value;
  if (type === 'email') {
    const [local = '', domain = ''] = value.split('@');
    return `${local.slice(0, 1)}***@${domain}`;
  }
  if (type === 'ip') {
    return value.includes(':') ? `${value.split(':').slice(0, 2).join(':')}:****` : `${value.split('.').slice(0, 2).join('.')}.*.*`;
  }
  return `${value.slice(0, 4)}****`;
}
