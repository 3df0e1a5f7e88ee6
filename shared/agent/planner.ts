import { z } from 'zod';
import { SubjectTypeSchema, type SubjectType } from './model.js';
import { ACCOUNT_STEPS, RESOLVE_STEPS } from './steps.js';

/**
 * The planner: a pure, deterministic function from the request to the ordered steps. Resolution
 * depends on the subject type; then every account step runs, because each abuse pattern of the
 * contract is cheap to check and an absent check cannot be told apart from a clean result.
 *
 * Two time ranges: usage (and who used the account's voices) over the requested window; history
 * (moderation flags, linked accounts, payments, resolution through logins and payments) over
 * HISTORY_DAYS, because a ban, a shared card or a critical flag matters long after the window.
 * The question is kept with the investigation for the analyst; it does not change the plan.
 */
export const HISTORY_DAYS = 365;

export const PlanRequestSchema = z.object({
  subject: z.object({ type: SubjectTypeSchema, value: z.string().min(1).max(320) }),
  question: z.string().max(2000).optional(),
  windowDays: z.number().int().min(1).max(365),
});
export type PlanRequest = z.infer<typeof PlanRequestSchema>;

export interface PlannedStep {
  /** 1-based position in the run. */
  index: number;
  name: string;
  description: string;
  args: Record<string, unknown>;
}

export function planInvestigation(request: PlanRequest): PlannedStep[] {
  const { subject, windowDays } = PlanRequestSchema.parse(request);
  const resolve = RESOLVE_STEPS[subject.type as SubjectType];
  const steps: Omit<PlannedStep, 'index'>[] = [
    { name: resolve.name, description: resolve.description, args: { value: subject.value, lookback_days: HISTORY_DAYS, window_days: windowDays } },
    ...ACCOUNT_STEPS.map((step) => ({
      name: step.name,
      description: step.description,
      args: step.range === 'window' ? { window_days: windowDays } : step.range === 'history' ? { lookback_days: HISTORY_DAYS } : {},
    })),
  ];
  return steps.map((s, i) => ({ index: i + 1, ...s }));
}
