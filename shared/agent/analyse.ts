import type { Evidence, FindingSeverity, FindingType } from './model.js';
import type { SignalName } from './scoring.js';
import type { BanEvasionRow, FlagRow, LinkRow, PaymentRow, ProfileRow, UsageRow, VoiceRow, VoiceUserRow } from './steps.js';

/**
 * From step rows to findings: pure functions, one per abuse pattern of the contract. A finding
 * names accounts by user_id and voices by voice_id only; its evidence lists the keys of exactly
 * the rows it rests on. Each finding also yields scoring signals (scoring.ts weighs them).
 *
 * Thresholds (one place, used by the unit tests):
 */
export const THRESHOLDS = {
  /** A day is a spike when its characters are at least this multiple of the account's baseline… */
  spikeMultiplier: 10,
  /** …and at least this many characters (small accounts doubling from 200 to 4,000 are not news)… */
  spikeMinCharacters: 50_000,
  /** …and the baseline (median of the account's OTHER active days in the window) has this many days. */
  spikeMinBaselineDays: 5,
  /** A spike this many times the baseline is high severity. */
  spikeHighMultiplier: 50,
  failedPaymentsMin: 5,
  cardCountriesMin: 3,
  chargebacksMin: 1,
} as const;

/**
 * Confidence that the signal means what the finding says (not that abuse happened):
 * manual review 0.95, classifier 0.75, user report 0.6; a shared card 0.9, device 0.85, IP 0.5
 * (NAT, VPNs, offices); arithmetic on usage 0.8; likeness matches 0.85; payment outcomes 0.9.
 */
export const CONFIDENCE = {
  flagSource: { manual: 0.95, classifier: 0.75, user_report: 0.6 } as Record<string, number>,
  link: { card: 0.9, device: 0.85, ip: 0.5 } as Record<string, number>,
  usage: 0.8,
  likeness: 0.85,
  payments: 0.9,
  status: 1,
} as const;

export interface Signal {
  signal: SignalName;
  count: number;
  detail: string;
}

export interface FindingDraft {
  type: FindingType;
  severity: FindingSeverity;
  title: string;
  summary: string;
  confidence: number;
  escalate: boolean;
  evidence: Evidence[];
  signals: Signal[];
}

export interface StepOutput<R> {
  rows: R[];
  /** Evidence citing the given row keys of this step. */
  cite(rowKeys: string[]): Evidence;
}

export interface Observations {
  accounts: string[];
  windowDays: number;
  historyDays: number;
  profile?: StepOutput<ProfileRow>;
  usage?: StepOutput<UsageRow>;
  moderation?: StepOutput<FlagRow>;
  linked?: StepOutput<LinkRow>;
  voices?: StepOutput<VoiceRow>;
  payments?: StepOutput<PaymentRow>;
  banEvasion?: StepOutput<BanEvasionRow>;
  voiceUsers?: StepOutput<VoiceUserRow>;
  /** Report usage spikes only on or after this date (YYYY-MM-DD): the period a question asked about. */
  usageFocusSince?: string;
  /** The usage step's own window when the plan widened it for a baseline (else windowDays). */
  usageWindowDays?: number;
}

export function analyse(obs: Observations): FindingDraft[] {
  return [
    ...accountStatusFindings(obs),
    ...moderationFindings(obs),
    ...banEvasionFindings(obs),
    ...linkedAccountFindings(obs),
    ...impersonationFindings(obs),
    ...usageFindings(obs),
    ...paymentFindings(obs),
  ];
}

// ---------------------------------------------------------------------------------------------

const SEVERITY_ORDER: FindingSeverity[] = ['low', 'medium', 'high', 'critical'];
const maxSeverity = (a: FindingSeverity, b: FindingSeverity) => (SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b);

export function formatNumber(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function listIds(ids: string[], max = 5): string {
  const shown = ids.slice(0, max).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------

export function accountStatusFindings(obs: Observations): FindingDraft[] {
  if (!obs.profile) return [];
  return obs.profile.rows
    .filter((r) => r.account_status === 'banned' || r.account_status === 'suspended')
    .map((r) => {
      const banned = r.account_status === 'banned';
      return {
        type: 'account_status',
        severity: banned ? 'medium' : 'low',
        title: `Account is already ${r.account_status}`,
        summary: `Account ${r.user_id} is ${r.account_status} (created ${r.created_at.slice(0, 10)}, plan ${r.plan}).`,
        confidence: CONFIDENCE.status,
        escalate: false,
        evidence: [obs.profile!.cite([r.user_id])],
        signals: [{ signal: banned ? 'account_banned' : 'account_suspended', count: 1, detail: `${r.user_id} is ${r.account_status}` }],
      } satisfies FindingDraft;
    });
}

export function moderationFindings(obs: Observations): FindingDraft[] {
  if (!obs.moderation) return [];
  const out: FindingDraft[] = [];
  for (const [userId, flags] of groupBy(obs.moderation.rows, (f) => f.user_id)) {
    const minors = flags.filter((f) => f.category === 'sexual_minors');
    const critical = flags.filter((f) => f.category !== 'sexual_minors' && f.severity === 'critical');
    const rest = flags.filter((f) => f.category !== 'sexual_minors' && f.severity !== 'critical');
    const escalate = minors.length > 0 || critical.length > 0;
    let severity: FindingSeverity = 'low';
    for (const f of flags) severity = maxSeverity(severity, SEVERITY_ORDER.includes(f.severity as FindingSeverity) ? (f.severity as FindingSeverity) : 'low');
    if (minors.length) severity = 'critical';

    const byKind = [...groupBy(flags, (f) => `${f.category}/${f.severity}`)]
      .sort((a, b) => SEVERITY_ORDER.indexOf(b[1][0]!.severity as FindingSeverity) - SEVERITY_ORDER.indexOf(a[1][0]!.severity as FindingSeverity) || a[0].localeCompare(b[0]))
      .map(([kind, list]) => `${kind} ×${list.length}`)
      .join(', ');
    const sources = [...groupBy(flags, (f) => f.source)].map(([s, list]) => `${s} ${list.length}`).join(', ');
    const signals: Signal[] = [];
    if (minors.length) signals.push({ signal: 'moderation_sexual_minors', count: minors.length, detail: `${userId}: ${plural(minors.length, 'sexual_minors flag')}` });
    if (critical.length) signals.push({ signal: 'moderation_critical', count: critical.length, detail: `${userId}: ${plural(critical.length, 'critical flag')}` });
    for (const level of ['high', 'medium', 'low'] as const) {
      const n = rest.filter((f) => f.severity === level).length;
      if (n) signals.push({ signal: `moderation_${level}`, count: n, detail: `${userId}: ${plural(n, `${level} flag`)}` });
    }
    out.push({
      type: 'moderation_history',
      severity,
      title: escalate
        ? `Moderation history includes ${minors.length ? 'a sexual_minors' : 'a critical'} flag: escalate`
        : `Moderation history: ${plural(flags.length, 'flag')} (highest severity ${severity})`,
      summary:
        `Account ${userId} has ${plural(flags.length, 'moderation flag')} in the last ${obs.historyDays} days: ${byKind}. Sources: ${sources}.` +
        (escalate ? ' Flags in category sexual_minors or of critical severity are always escalated.' : ''),
      confidence: Math.max(...flags.map((f) => CONFIDENCE.flagSource[f.source] ?? 0.6)),
      escalate,
      evidence: [obs.moderation.cite(flags.map((f) => f.flag_id))],
      signals,
    });
  }
  return out;
}

export const LINK_WORDS: Record<string, string> = { card: 'a payment card', device: 'a login device', ip: 'an IP address' };
const joinWords = (words: string[]) => (words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`);

export function linkedAccountFindings(obs: Observations): FindingDraft[] {
  if (!obs.linked) return [];
  const out: FindingDraft[] = [];
  for (const [subjectId, links] of groupBy(obs.linked.rows, (l) => l.subject_user_id)) {
    const byAccount = groupBy(links, (l) => l.linked_user_id);
    const ids = [...byAccount.keys()].sort();
    const status = (id: string) => byAccount.get(id)![0]!.linked_status;
    const types = (id: string) => new Set(byAccount.get(id)!.map((l) => l.link_type));
    const enforced = ids.filter((id) => status(id) === 'banned' || status(id) === 'suspended');
    const strong = ids.filter((id) => !enforced.includes(id) && (types(id).has('card') || types(id).has('device')));
    const ipOnly = ids.filter((id) => !enforced.includes(id) && !strong.includes(id));
    const linkTypes = (['card', 'device', 'ip'] as const).filter((t) => links.some((l) => l.link_type === t));
    const statusCounts = [...groupBy(ids, status)].sort((a, b) => a[0].localeCompare(b[0])).map(([s, list]) => `${list.length} ${s}`).join(', ');
    const severity: FindingSeverity = enforced.length ? 'high' : strong.length ? 'medium' : 'low';
    const signals: Signal[] = [];
    if (enforced.length) signals.push({ signal: 'linked_banned_or_suspended', count: enforced.length, detail: `${subjectId} ↔ ${listIds(enforced)}` });
    if (strong.length) signals.push({ signal: 'linked_card_or_device', count: strong.length, detail: `${subjectId} ↔ ${listIds(strong)}` });
    if (ipOnly.length) signals.push({ signal: 'linked_ip_only', count: ipOnly.length, detail: `${subjectId} ↔ ${listIds(ipOnly)}` });
    out.push({
      type: 'linked_accounts',
      severity,
      title: enforced.length
        ? `Linked to ${plural(enforced.length, 'banned or suspended account')}`
        : strong.length
          ? `Shares a card or device with ${plural(strong.length, 'other account')}`
          : `Shares an IP address with ${plural(ipOnly.length, 'other account')}`,
      summary: `Account ${subjectId} shares ${joinWords(linkTypes.map((t) => LINK_WORDS[t]!))} with ${plural(ids.length, 'other account')} (${listIds(ids)}): ${statusCounts}.`,
      confidence: Math.max(...linkTypes.map((t) => CONFIDENCE.link[t]!)),
      escalate: false,
      evidence: [obs.linked.cite(links.map((l) => `${l.subject_user_id}|${l.linked_user_id}|${l.link_type}`))],
      signals,
    });
  }
  return out;
}

/** Ban evasion from the ban_evasion_check rows: each row is a banned, older account sharing a key. */
export function banEvasionFindings(obs: Observations): FindingDraft[] {
  if (!obs.banEvasion) return [];
  const out: FindingDraft[] = [];
  for (const [subjectId, evaded] of groupBy(obs.banEvasion.rows, (r) => r.subject_user_id)) {
    const subjectCreated = evaded[0]!.subject_created_at;
    const bannedIds = [...new Set(evaded.map((l) => l.banned_user_id))].sort();
    const linkTypes = (['card', 'device', 'ip'] as const).filter((t) => evaded.some((l) => l.link_type === t));
    out.push({
      type: 'ban_evasion',
      severity: 'high',
      title: 'Possible ban evasion',
      summary:
        `Account ${subjectId} was created on ${subjectCreated.slice(0, 10)}, after banned ${bannedIds.length === 1 ? 'account' : 'accounts'} ${listIds(bannedIds)}, ` +
        `and shares ${joinWords(linkTypes.map((t) => LINK_WORDS[t]!))} with ${bannedIds.length === 1 ? 'it' : 'them'}.`,
      confidence: linkTypes.some((t) => t !== 'ip') ? 0.9 : 0.6,
      escalate: false,
      evidence: [obs.banEvasion.cite(evaded.map((l) => `${l.subject_user_id}|${l.banned_user_id}|${l.link_type}`))],
      signals: [{ signal: 'ban_evasion', count: bannedIds.length, detail: `${subjectId} after banned ${listIds(bannedIds)}` }],
    });
  }
  return out;
}

export function impersonationFindings(obs: Observations): FindingDraft[] {
  if (!obs.voices) return [];
  const out: FindingDraft[] = [];
  for (const [voiceId, rows] of groupBy(obs.voices.rows, (r) => r.voice_id)) {
    const v = rows[0]!;
    if (!v.has_likeness || v.verification_status === 'verified') continue;
    const used = rows.filter((r) => r.used_by !== null);
    const byOwner = used.filter((r) => r.used_by === v.owner_user_id);
    const byOthers = used.filter((r) => r.used_by !== v.owner_user_id);
    const others = byOthers.map((r) => r.used_by!).sort();
    const ownerRequests = byOwner.reduce((s, r) => s + r.requests, 0);
    const otherRequests = byOthers.reduce((s, r) => s + r.requests, 0);
    const signals: Signal[] = [{ signal: 'impersonation_voice', count: 1, detail: `${voiceId} (${v.verification_status}) owned by ${v.owner_user_id}` }];
    if (others.length) signals.push({ signal: 'impersonation_used_by_others', count: others.length, detail: `${voiceId} used by ${listIds(others)}` });
    out.push({
      type: 'impersonation',
      severity: v.is_public || others.length ? 'high' : 'medium',
      title: `${v.verification_status === 'rejected' ? 'Rejected' : 'Unverified'} cloned voice matched to a public figure`,
      summary:
        `Voice ${voiceId} (${v.voice_type}, ${v.verification_status}, ${v.is_public ? 'public' : 'private'}) owned by ${v.owner_user_id} matches a public figure's likeness. ` +
        `In the last ${obs.windowDays} days its owner made ${plural(ownerRequests, 'request')} with it` +
        (others.length ? ` and ${plural(others.length, 'other account')} (${listIds(others)}) made ${plural(otherRequests, 'request')}.` : '; no other account used it.'),
      confidence: CONFIDENCE.likeness,
      escalate: false,
      evidence: [obs.voices.cite(rows.map((r) => `${r.voice_id}|${r.used_by ?? '-'}`))],
      signals,
    });
  }
  return out;
}

export interface SpikeDay {
  usage_date: string;
  characters: number;
  baseline: number;
  ratio: number;
  baselineDays: number;
}

/** Days far above the account's own baseline: the median of its other active days in the window. */
export function spikeDays(days: { usage_date: string; characters: number }[]): SpikeDay[] {
  const out: SpikeDay[] = [];
  for (const day of days) {
    const others = days.filter((d) => d !== day).map((d) => d.characters);
    if (others.length < THRESHOLDS.spikeMinBaselineDays) continue;
    const baseline = median(others);
    if (baseline <= 0) continue;
    const ratio = day.characters / baseline;
    if (ratio >= THRESHOLDS.spikeMultiplier && day.characters >= THRESHOLDS.spikeMinCharacters) {
      out.push({ usage_date: day.usage_date, characters: day.characters, baseline, ratio, baselineDays: others.length });
    }
  }
  return out;
}

export function usageFindings(obs: Observations): FindingDraft[] {
  if (!obs.usage) return [];
  const out: FindingDraft[] = [];
  for (const [userId, days] of groupBy(obs.usage.rows, (r) => r.user_id)) {
    const spikes = spikeDays(days).filter((d) => !obs.usageFocusSince || d.usage_date >= obs.usageFocusSince);
    if (!spikes.length) continue;
    const top = spikes.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const dayText = spikes.map((s) => `${s.usage_date}: ${formatNumber(s.characters)} characters (${Math.round(s.ratio)}x)`).join('; ');
    out.push({
      type: 'usage_anomaly',
      severity: top.ratio >= THRESHOLDS.spikeHighMultiplier ? 'high' : 'medium',
      title: `Usage spike: ${Math.round(top.ratio)}x the account's usual daily volume`,
      summary:
        `Account ${userId} synthesised far more than its own baseline (median ${formatNumber(top.baseline)} characters over its other ${top.baselineDays} active days ` +
        `in the last ${obs.usageWindowDays ?? obs.windowDays} days) on ${plural(spikes.length, 'day')}: ${dayText}.`,
      confidence: CONFIDENCE.usage,
      escalate: false,
      evidence: [obs.usage.cite(spikes.map((s) => `${userId}|${s.usage_date}`))],
      signals: [{ signal: 'usage_spike', count: spikes.length, detail: `${userId}: ${Math.round(top.ratio)}x baseline on ${top.usage_date}` }],
    });
  }
  return out;
}

export function paymentFindings(obs: Observations): FindingDraft[] {
  if (!obs.payments) return [];
  const out: FindingDraft[] = [];
  for (const [userId, payments] of groupBy(obs.payments.rows, (p) => p.user_id)) {
    const chargebacks = payments.filter((p) => p.status === 'chargeback');
    const failed = payments.filter((p) => p.status === 'failed');
    const countries = groupBy(payments.filter((p) => p.card_country), (p) => p.card_country!);
    const cards = new Set(payments.map((p) => p.card_no)).size;
    const signals: Signal[] = [];
    const parts: string[] = [];
    const keys: string[] = [];
    if (chargebacks.length >= THRESHOLDS.chargebacksMin) {
      signals.push({ signal: 'payment_chargebacks', count: chargebacks.length, detail: `${userId}: ${plural(chargebacks.length, 'chargeback')}` });
      parts.push(plural(chargebacks.length, 'chargeback'));
      keys.push(...chargebacks.map((p) => p.payment_id));
    }
    if (failed.length >= THRESHOLDS.failedPaymentsMin) {
      signals.push({ signal: 'payment_failed_attempts', count: failed.length, detail: `${userId}: ${plural(failed.length, 'failed attempt')}` });
      parts.push(plural(failed.length, 'failed attempt'));
      keys.push(...failed.map((p) => p.payment_id));
    }
    if (countries.size >= THRESHOLDS.cardCountriesMin) {
      signals.push({ signal: 'payment_card_countries', count: countries.size, detail: `${userId}: cards from ${countries.size} countries` });
      parts.push(`cards from ${countries.size} countries`);
      for (const list of countries.values()) keys.push(list[0]!.payment_id);
    }
    if (!signals.length) continue;
    out.push({
      type: 'payment_risk',
      severity: chargebacks.length >= 2 || signals.length >= 2 ? 'high' : 'medium',
      title: `Payment risk: ${parts.join(', ')}`,
      summary: `Account ${userId} made ${plural(payments.length, 'payment attempt')} with ${plural(cards, 'card')} in the last ${obs.historyDays} days: ${parts.join(', ')}.`,
      confidence: CONFIDENCE.payments,
      escalate: false,
      evidence: [obs.payments.cite([...new Set(keys)])],
      signals,
    });
  }
  return out;
}
