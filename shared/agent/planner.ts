import { z } from 'zod';
import { SubjectTypeSchema, type PlanInfo, type SubjectType } from './model.js';
import { readQuestion, type Intent } from './question.js';
import { ACCOUNT_STEPS, RESOLVE_STEPS, STEPS, voiceUsers } from './steps.js';

/**
 * The deterministic planner: a pure function from the request (subject, question, window) to the
 * ordered steps, each with the reason it was chosen and the abuse patterns it checks.
 *
 * - No question, or a question that asks for nothing specific (or for "everything"): the FULL plan,
 *   every pattern check, because an absent check cannot be told apart from a clean result.
 * - A question that asks for specific checks ("who is using voice v_123", "accounts sharing a card
 *   with x@y.com", "did usage spike last week"): a FOCUSED plan, resolution + the account profile +
 *   the steps those checks need. The result says which patterns were not checked (summary.ts), so a
 *   focused run is never read as a clean bill of health.
 *
 * Two time ranges: usage (and voice use) over the requested window; history (moderation flags,
 * linked accounts, ban evasion, payments, resolution through logins and payments) over
 * HISTORY_DAYS, because a ban, a shared card or a critical flag matters long after the window. A
 * question's period ("last week") narrows where usage spikes are reported (`focus_days`), not the
 * baseline: a spike is judged against the account's usual volume over the whole window.
 */
export const HISTORY_DAYS = 365;

/** Abuse patterns of the contract, plus the voice-usage answer, that steps feed. */
export type PatternCheck = 'account_status' | 'linked_accounts' | 'ban_evasion' | 'impersonation' | 'usage_anomaly' | 'moderation_history' | 'payment_risk' | 'voice_usage';

/** The pattern checks each account step feeds (what "the plan shows" for every step). */
export const STEP_CHECKS: Record<string, PatternCheck[]> = {
  account_profile: ['account_status'],
  usage_summary: ['usage_anomaly'],
  moderation_history: ['moderation_history'],
  linked_accounts: ['linked_accounts'],
  ban_evasion_check: ['ban_evasion'],
  owned_voices: ['impersonation'],
  voice_users: ['voice_usage'],
  payment_history: ['payment_risk'],
};

/** Patterns a full plan checks; a focused plan lists the ones it left out. */
export const ALL_PATTERNS: PatternCheck[] = ['account_status', 'usage_anomaly', 'moderation_history', 'linked_accounts', 'ban_evasion', 'impersonation', 'payment_risk'];

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
  /** Why this step is in the plan, in a few words the analyst can read. */
  reason: string;
  checks: PatternCheck[];
}

export interface Plan extends PlanInfo {
  steps: PlannedStep[];
}

/** Anything that turns a request into a plan; run.ts takes one (default: the deterministic one). */
export interface Planner {
  plan(request: PlanRequest): Promise<Plan>;
}

export const deterministicPlanner: Planner = { plan: async (request) => planInvestigation(request) };

const FULL_REASONS: Record<string, string> = {
  account_profile: 'every investigation: account status, age and verification',
  usage_summary: 'every investigation: daily usage, checked for spikes against the account\'s own baseline',
  moderation_history: 'every investigation: moderation flags (sexual_minors or critical are escalated)',
  linked_accounts: 'every investigation: accounts sharing a card, device or IP, and their status',
  ban_evasion_check: 'every investigation: banned accounts created earlier that share a card, device or IP',
  owned_voices: 'every investigation: owned voices matched to a public figure and who used them',
  voice_users: 'the subject is a voice: every account that used it',
  payment_history: 'every investigation: chargebacks, failed attempts, cards from many countries',
};

const INTENT_STEPS: Record<Exclude<Intent, 'everything'>, { steps: string[]; why: string }> = {
  voice_users: { steps: ['voice_users', 'owned_voices'], why: 'the question asks who uses a voice' },
  impersonation: { steps: ['owned_voices', 'voice_users'], why: 'the question asks about cloned or impersonating voices' },
  linked_card: { steps: ['linked_accounts', 'ban_evasion_check'], why: 'the question asks about accounts sharing a payment card' },
  linked_device: { steps: ['linked_accounts', 'ban_evasion_check'], why: 'the question asks about accounts sharing a device' },
  linked_ip: { steps: ['linked_accounts', 'ban_evasion_check'], why: 'the question asks about accounts sharing an IP address' },
  linked: { steps: ['linked_accounts', 'ban_evasion_check'], why: 'the question asks about linked accounts' },
  ban_evasion: { steps: ['linked_accounts', 'ban_evasion_check'], why: 'the question asks about ban evasion' },
  usage_spike: { steps: ['usage_summary'], why: 'the question asks whether usage spiked' },
  usage: { steps: ['usage_summary'], why: 'the question asks about usage' },
  moderation: { steps: ['moderation_history'], why: 'the question asks about moderation flags' },
  payment: { steps: ['payment_history'], why: 'the question asks about payments' },
  status: { steps: [], why: 'the question asks about the account' },
};

/** Order of account steps in any plan (the full plan's order, voice_users after owned_voices). */
const ORDER = ['account_profile', 'usage_summary', 'moderation_history', 'linked_accounts', 'ban_evasion_check', 'owned_voices', 'voice_users', 'payment_history'];

export function planInvestigation(request: PlanRequest): Plan {
  const { subject, question, windowDays } = PlanRequestSchema.parse(request);
  const reading = readQuestion(question);
  const specific = reading.intents.filter((i): i is Exclude<Intent, 'everything'> => i !== 'everything');
  const full = specific.length === 0 || reading.intents.includes('everything');
  // A voice the question names, else the subject itself when it is a voice.
  const voiceId = reading.voiceId ?? (subject.type === 'voice_id' ? subject.value : null);

  const chosen = new Map<string, string>();
  if (full) {
    for (const s of ACCOUNT_STEPS) chosen.set(s.name, FULL_REASONS[s.name]!);
    if (subject.type === 'voice_id' || reading.voiceId) chosen.set(voiceUsers.name, reading.voiceId ? 'the question names a voice: every account that used it' : FULL_REASONS.voice_users!);
  } else {
    chosen.set('account_profile', 'account status, age and verification (context for every answer)');
    for (const intent of specific) {
      for (const name of INTENT_STEPS[intent].steps) {
        const why = name === 'ban_evasion_check' && intent !== 'ban_evasion' ? `${INTENT_STEPS[intent].why}; a banned linked account older than the subject is ban evasion` : INTENT_STEPS[intent].why;
        if (!chosen.has(name)) chosen.set(name, why);
      }
    }
  }

  const resolve = RESOLVE_STEPS[subject.type as SubjectType];
  const steps: Omit<PlannedStep, 'index'>[] = [
    {
      name: resolve.name,
      description: resolve.description,
      args: { value: subject.value, lookback_days: HISTORY_DAYS, window_days: windowDays },
      reason: `the subject is ${subject.type === 'ip' ? 'an IP address' : `a${/^[aeiou]/.test(subject.type) ? 'n' : ''} ${subject.type.replace('_', ' ')}`}: find its accounts`,
      checks: [],
    },
    ...ORDER.filter((name) => chosen.has(name)).map((name) => {
      const def = STEPS[name]!;
      const args = argsFor(name, windowDays, voiceId, reading.focusDays);
      let reason = chosen.get(name)!;
      if (name === 'usage_summary' && args.focus_days) reason += `; spikes reported in the last ${args.focus_days} days, baseline over ${args.window_days}`;
      if (name === 'voice_users' && args.voice_id) reason += ` (voice ${args.voice_id})`;
      return { name, description: def.description, args, reason, checks: STEP_CHECKS[name] ?? [] };
    }),
  ];
  return {
    planner: 'deterministic',
    scope: full ? 'full' : 'focused',
    intents: reading.intents,
    steps: steps.map((s, i) => ({ index: i + 1, ...s })),
  };
}

function argsFor(name: string, windowDays: number, voiceId: string | null, focus: number | null): Record<string, unknown> {
  const def = STEPS[name]!;
  if (name === 'voice_users') return voiceId ? { window_days: windowDays, voice_id: voiceId } : { window_days: windowDays };
  if (name === 'usage_summary' && focus !== null) {
    // The baseline needs more days than the period asked about: at least two weeks before it.
    const window = Math.min(365, Math.max(windowDays, focus + 14));
    return focus < window ? { window_days: window, focus_days: focus } : { window_days: window };
  }
  return def.range === 'window' ? { window_days: windowDays } : def.range === 'history' ? { lookback_days: HISTORY_DAYS } : {};
}

/** Patterns a plan does not check (a focused plan's blind spots, named in the summary). */
export function uncheckedPatterns(steps: readonly { name: string }[]): PatternCheck[] {
  const covered = new Set(steps.flatMap((s) => STEP_CHECKS[s.name] ?? []));
  return ALL_PATTERNS.filter((p) => !covered.has(p));
}
