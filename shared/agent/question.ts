import { isIP } from 'node:net';
import type { SubjectType } from './model.js';

/**
 * Reading an analyst's free-text question, deterministically: which checks it asks for (intents),
 * the time it asks about ("last week"), and any subject it names (so a question alone can open an
 * investigation). Plain patterns, no model: the same question always gives the same reading, and
 * a question nothing matches gets the full plan (planner.ts), never a guess.
 */
export const INTENTS = [
  'everything',
  'voice_users',
  'impersonation',
  'linked_card',
  'linked_device',
  'linked_ip',
  'linked',
  'ban_evasion',
  'usage_spike',
  'usage',
  'moderation',
  'payment',
  'status',
] as const;
export type Intent = (typeof INTENTS)[number];

const PATTERNS: Record<Intent, RegExp[]> = {
  everything: [/\beverything\b/, /\b(full|complete|whole)\b.*\b(investigation|picture|review|check|report)\b/, /\ball\b.*\b(checks?|signals?|patterns?)\b/, /\boverview\b/],
  voice_users: [/\bwho\b.*\b(us(e|es|ing)|used)\b/, /\bvoice\b.*\bused by\b/, /\b(users?|accounts?)\b.*\b(of|using|used)\b.*\bvoice\b/, /\bvoice users\b/],
  impersonation: [/\bimpersonat/, /\bclon(e|ed|es|ing)\b/, /\blikeness\b/, /\bdeep ?fake/, /\bpublic figure/, /\bcelebrit/],
  linked_card: [/\b(shar\w*|same|common)\b.{0,30}\b(payment )?cards?\b/, /\bcards?\b.{0,20}\bshared\b/],
  linked_device: [/\b(shar\w*|same|common)\b.{0,30}\bdevices?\b/, /\bdevices?\b.{0,20}\bshared\b/],
  linked_ip: [/\b(shar\w*|same|common)\b.{0,30}\b(ip|ips|ip address(es)?)\b/, /\b(ip|ips)\b.{0,20}\bshared\b/],
  linked: [/\blinked\b/, /\brelated accounts?\b/, /\bother accounts?\b/, /\balt(ernate)? accounts?\b/, /\balts\b/, /\bmulti-?account/, /\bconnected accounts?\b/, /\bsock ?puppet/],
  ban_evasion: [/\bban[- ]?evasion\b/, /\bevad(e|es|ed|ing)\b/, /\bbanned\b.*\b(before|again|came back|return|new account)\b/, /\bnew account\b.*\bbanned\b/],
  usage_spike: [/\bspik(e|es|ed|ing)\b/, /\bsurg(e|es|ed)\b/, /\bburst/, /\banomal/, /\bunusual\b.*\b(usage|volume|activity)\b/, /\b(usage|volume)\b.*\b(jump|increase|grow|explod)/],
  usage: [/\busage\b/, /\bvolume\b/, /\bhow much\b/, /\bcharacters\b/, /\bactivity\b/, /\btimeline\b/],
  moderation: [/\bflag(s|ged)?\b/, /\bmoderation\b/, /\breport(s|ed)?\b.*\b(by users|abuse)\b/, /\bviolat/, /\bcsam\b/, /\bminors?\b/, /\bhate\b/],
  payment: [/\bpayments?\b/, /\bchargebacks?\b/, /\bcard testing\b/, /\brefunds?\b/, /\bbilling\b/, /\bfailed (charges|attempts)\b/, /\bcards? from\b.*\bcountries\b/],
  status: [/\bstatus\b/, /\b(is|was) (it|the account|this account) (banned|suspended|active)\b/, /\bprofile\b/],
};

export interface QuestionReading {
  intents: Intent[];
  /** Days the question asks about ("last week" = 7); null when it names no period. */
  focusDays: number | null;
  /** A voice id the question names (voice ids are not personal data). */
  voiceId: string | null;
}

const WORD_DAYS: Record<string, number> = { day: 1, week: 7, fortnight: 14, month: 30, quarter: 90, year: 365 };

/** The period a question asks about, in days (bounded to 1–365). */
export function focusDays(question: string): number | null {
  const q = question.toLowerCase();
  const n = q.match(/\b(?:last|past|previous|recent)\s+(\d{1,3})\s+(hours?|days?|weeks?|months?)\b/);
  if (n) {
    const count = Number(n[1]);
    const unit = n[2]!.replace(/s$/, '');
    const days = unit === 'hour' ? Math.ceil(count / 24) : count * (WORD_DAYS[unit] ?? 1);
    return Math.min(365, Math.max(1, days));
  }
  const w = q.match(/\b(?:last|past|previous|this)\s+(day|week|fortnight|month|quarter|year)\b/);
  if (w) return WORD_DAYS[w[1]!]!;
  if (/\b(yesterday|today|last 24 ?h)\b/.test(q)) return 1;
  return null;
}

export function readQuestion(question: string | undefined): QuestionReading {
  if (!question) return { intents: [], focusDays: null, voiceId: null };
  const q = question.toLowerCase();
  let intents = INTENTS.filter((intent) => PATTERNS[intent].some((re) => re.test(q)));
  // "who is using voice X" is about the voice's users, not a generic "who" question.
  if (intents.includes('voice_users') && !/\bvoices?\b|\bv_|\bvoice_/.test(q)) intents = intents.filter((i) => i !== 'voice_users');
  // A specific link type makes the generic "linked" redundant.
  if (intents.some((i) => i === 'linked_card' || i === 'linked_device' || i === 'linked_ip')) intents = intents.filter((i) => i !== 'linked');
  // A spike question is a usage question too; keep only the more specific one.
  if (intents.includes('usage_spike')) intents = intents.filter((i) => i !== 'usage');
  return { intents, focusDays: focusDays(question), voiceId: mentions(question).find((m) => m.type === 'voice_id')?.value ?? null };
}

// ---------------------------------------------------------------------------------------------
// Subjects named in a question

export interface Mention {
  type: SubjectType;
  value: string;
  /** Position in the question (the first mention wins when a question names several). */
  at: number;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** Voice ids: `voice_…` or `v_…` tokens, or any id right after the word "voice". */
const VOICE = /\b(?:voice[_-][A-Za-z0-9_.:-]+|v_[A-Za-z0-9_.:-]+)|\bvoice(?:\s+id)?\s+([A-Za-z0-9][A-Za-z0-9_.:-]{2,127})/gi;
/** User ids: `usr_…` / `user_…` tokens, or an id after "user id" / "account id". */
const USER = /\b(?:usr_[A-Za-z0-9_.:-]+)|\b(?:user|account)[ _-]id\s+([A-Za-z0-9][A-Za-z0-9_.:-]{2,127})/gi;
/** Card fingerprints: `fp_…` tokens, or a token after "card fingerprint" / "fingerprint". */
const CARD = /\bfp_[A-Za-z0-9_:+/=.-]{2,126}|\b(?:card\s+)?fingerprint\s+([A-Za-z0-9_:+/=.-]{4,128})/gi;
const IP_CANDIDATE = /(?<![A-Za-z0-9:.])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![A-Za-z0-9:.])/g;
/** Words that follow "voice" in ordinary sentences and are not ids. */
const NOT_IDS = new Set(['was', 'is', 'has', 'and', 'the', 'that', 'this', 'used', 'usage', 'users', 'owner', 'owned', 'clone', 'cloned', 'library', 'with', 'for', 'from', 'of', 'id']);

const strip = (v: string) => v.replace(/[.,;:!?)]+$/, '');

/** Every subject the question names, in order of appearance. */
export function mentions(question: string): Mention[] {
  const out: Mention[] = [];
  for (const m of question.matchAll(EMAIL)) out.push({ type: 'email', value: strip(m[0]).toLowerCase(), at: m.index! });
  for (const m of question.matchAll(VOICE)) {
    const value = strip(m[1] ?? m[0]);
    if (!NOT_IDS.has(value.toLowerCase()) && (m[1] === undefined || /[_\d]/.test(value))) out.push({ type: 'voice_id', value, at: m.index! });
  }
  for (const m of question.matchAll(USER)) out.push({ type: 'user_id', value: strip(m[1] ?? m[0]), at: m.index! });
  for (const m of question.matchAll(CARD)) out.push({ type: 'card_fingerprint', value: strip(m[1] ?? m[0]), at: m.index! });
  for (const m of question.matchAll(IP_CANDIDATE)) if (isIP(m[0])) out.push({ type: 'ip', value: m[0].toLowerCase(), at: m.index! });
  // An email's domain part is not a voice/user id; drop mentions inside an earlier, longer one.
  const sorted = out.sort((a, b) => a.at - b.at);
  return sorted.filter((m, i) => !sorted.some((o, j) => j !== i && o.at < m.at && m.at < o.at + o.value.length));
}

/** The subject a question names, if any (the first one it mentions). */
export function subjectFromQuestion(question: string): { type: SubjectType; value: string } | null {
  const first = mentions(question)[0];
  return first ? { type: first.type, value: first.value } : null;
}
