import type { Action, Finding, RecommendedAction, RiskAssessment } from './model.js';

/**
 * Risk scoring and the recommended action: pure functions over the signals the findings carry.
 *
 * Every weight lives in SIGNAL_WEIGHTS. A signal with count n is worth
 * `min(max, first + each × (n − 1))` points; counts of the same signal are added across accounts
 * first (so a subject resolving to many accounts cannot exceed the signal's cap). The score is the
 * sum over signals, capped at 100.
 *
 * | signal                       | first | each | max | why                                                        |
 * |------------------------------|------:|-----:|----:|------------------------------------------------------------|
 * | moderation_sexual_minors     |    60 |    0 |  60 | child-safety flag; always escalated                        |
 * | moderation_critical          |    50 |    5 |  60 | critical flag in any other category; always escalated      |
 * | moderation_high              |    15 |    5 |  30 | high-severity flags                                        |
 * | moderation_medium            |     5 |    2 |  12 |                                                            |
 * | moderation_low               |     1 |    1 |   4 | background noise of any large product                      |
 * | ban_evasion                  |    45 |    5 |  55 | new account on a banned account's card/device/IP           |
 * | linked_banned_or_suspended   |    12 |   12 |  36 | per linked account already actioned                        |
 * | linked_card_or_device        |     8 |    4 |  16 | shared card/device with accounts in good standing          |
 * | linked_ip_only               |     3 |    1 |   6 | IPs are shared by offices, NAT and VPNs                    |
 * | impersonation_voice          |    30 |   10 |  45 | unverified/rejected clone matched to a public figure       |
 * | impersonation_used_by_others |    10 |    2 |  20 | the clone spreads beyond its owner                         |
 * | usage_spike                  |    15 |    5 |  25 | per spike day                                              |
 * | payment_chargebacks          |    15 |   10 |  35 |                                                            |
 * | payment_failed_attempts      |    10 |    0 |  10 | ≥ 5 failures (card testing)                                |
 * | payment_card_countries       |    10 |    0 |  10 | cards from ≥ 3 countries                                   |
 * | account_banned               |    10 |    0 |  10 | the account is already banned                              |
 * | account_suspended            |     5 |    0 |   5 |                                                            |
 *
 * Recommended action (first rule that applies):
 * 1. subject not found → none;
 * 2. any escalated finding (sexual_minors or critical flag) → escalate;
 * 3. otherwise by score: ≥ 80 ban, ≥ 55 suspend, ≥ 30 warn, ≥ 10 monitor, else none —
 *    raised to at least suspend for ban evasion, and to at least monitor when steps failed
 *    (an incomplete run is not evidence of a clean account).
 */
export const SIGNAL_WEIGHTS = {
  moderation_sexual_minors: { first: 60, each: 0, max: 60 },
  moderation_critical: { first: 50, each: 5, max: 60 },
  moderation_high: { first: 15, each: 5, max: 30 },
  moderation_medium: { first: 5, each: 2, max: 12 },
  moderation_low: { first: 1, each: 1, max: 4 },
  ban_evasion: { first: 45, each: 5, max: 55 },
  linked_banned_or_suspended: { first: 12, each: 12, max: 36 },
  linked_card_or_device: { first: 8, each: 4, max: 16 },
  linked_ip_only: { first: 3, each: 1, max: 6 },
  impersonation_voice: { first: 30, each: 10, max: 45 },
  impersonation_used_by_others: { first: 10, each: 2, max: 20 },
  usage_spike: { first: 15, each: 5, max: 25 },
  payment_chargebacks: { first: 15, each: 10, max: 35 },
  payment_failed_attempts: { first: 10, each: 0, max: 10 },
  payment_card_countries: { first: 10, each: 0, max: 10 },
  account_banned: { first: 10, each: 0, max: 10 },
  account_suspended: { first: 5, each: 0, max: 5 },
} as const satisfies Record<string, { first: number; each: number; max: number }>;

export type SignalName = keyof typeof SIGNAL_WEIGHTS;

export const ACTION_THRESHOLDS: readonly (readonly [number, Exclude<Action, 'escalate' | 'none'>])[] = [
  [80, 'ban'],
  [55, 'suspend'],
  [30, 'warn'],
  [10, 'monitor'],
];

const ACTION_ORDER: Action[] = ['none', 'monitor', 'warn', 'suspend', 'ban'];

export function signalPoints(signal: SignalName, count: number): number {
  if (count <= 0) return 0;
  const w = SIGNAL_WEIGHTS[signal];
  return Math.min(w.max, w.first + w.each * (count - 1));
}

export function scoreRisk(signals: readonly { signal: SignalName; count: number; detail: string }[]): RiskAssessment {
  const merged = new Map<SignalName, { count: number; details: string[] }>();
  for (const s of signals) {
    const m = merged.get(s.signal) ?? { count: 0, details: [] };
    m.count += s.count;
    m.details.push(s.detail);
    merged.set(s.signal, m);
  }
  const contributions = [...merged]
    .map(([signal, m]) => ({ signal, points: signalPoints(signal, m.count), detail: m.details.join('; '), count: m.count }))
    .filter((c) => c.points > 0)
    .sort((a, b) => b.points - a.points || a.signal.localeCompare(b.signal));
  const score = Math.min(100, contributions.reduce((sum, c) => sum + c.points, 0));
  return { score, contributions };
}

export function recommendAction(input: {
  resolved: boolean;
  findings: readonly Pick<Finding, 'type' | 'escalate'>[];
  risk: RiskAssessment;
  incomplete: boolean;
  /** A focused plan ran only the checks the question asked for: "nothing found" covers only those. */
  focused?: boolean;
}): RecommendedAction {
  if (!input.resolved) return { action: 'none', reason: 'The subject was not found; there is nothing to act on.' };
  if (input.findings.some((f) => f.escalate)) {
    return { action: 'escalate', reason: 'A moderation flag in category sexual_minors or of critical severity must go to the specialist team.' };
  }
  const score = input.risk.score;
  let action: Action = ACTION_THRESHOLDS.find(([min]) => score >= min)?.[1] ?? 'none';
  let reason =
    action === 'none'
      ? input.findings.length
        ? `Only weak signals (risk score ${score}/100); no action needed.`
        : input.focused
          ? 'No abuse signals were found in the checks the question asked for; run without a question for a full review.'
          : 'No abuse signals were found.'
      : `Risk score ${score}/100.`;
  const raise = (to: Action, why: string) => {
    if (ACTION_ORDER.indexOf(to) > ACTION_ORDER.indexOf(action)) {
      action = to;
      reason = `${why} (risk score ${score}/100).`;
    }
  };
  if (input.findings.some((f) => f.type === 'ban_evasion')) raise('suspend', 'Possible ban evasion');
  if (input.incomplete) raise('monitor', 'Some steps failed, so the result is incomplete; re-run the investigation');
  return { action, reason };
}
