import { z } from 'zod';
import type { ColumnRef, TableName } from '../warehouse/contract.js';
import type { ParamValue } from '../warehouse/port.js';
import { describeSql } from '../guard/describe.js';
import { isPiiColumn } from './mask.js';
import type { SubjectType } from './model.js';

/**
 * The investigation steps: each a typed definition with zod arguments (what the planner decides),
 * one parameterised BigQuery SQL template naming contract tables (checked and translated by shared/guard), the contract column
 * every parameter is compared with (for masking), a zod schema for its rows and a row key (for
 * evidence). Steps after resolution take only account ids and time bounds as parameters, so the
 * evidence they back never needs personal data to be re-run.
 */
const DAY_MS = 86_400_000;

/** Accounts a subject may resolve to; more are reported as truncated. */
export const MAX_ACCOUNTS = 25;

export interface StepContext {
  now: Date;
  /** Accounts the subject resolved to (empty until the resolve step ran). */
  accounts: string[];
}

export interface StepDefinition<A = Record<string, unknown>, R = Record<string, unknown>> {
  name: string;
  description: string;
  args: z.ZodType<A>;
  sql: string;
  /** The query parameters, revivable from their stored (JSON) form for evidence replay. */
  params: z.ZodType<Record<string, ParamValue>>;
  /** The contract column each parameter is compared with. */
  paramColumns: Record<string, ColumnRef>;
  bind(args: A, ctx: StepContext): Record<string, ParamValue>;
  row: z.ZodType<R>;
  rowKey(row: R): string;
  maxRows: number;
  /** Steps that need resolved accounts are skipped when there are none. */
  needsAccounts: boolean;
  /** Which time range the planner gives it: the requested window, the history lookback, or none. */
  range: 'window' | 'history' | 'none';
}

export interface StepInfo {
  tables: TableName[];
  sqlHash: string;
  /** True if any parameter carries personal data (then its evidence cannot be replayed from storage). */
  piiParams: boolean;
}

const since = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const iso = z.string().min(10);
const num = z.number();

const HistoryArgs = z.object({ lookback_days: z.number().int().min(1).max(3650) });
const WindowArgs = z.object({ window_days: z.number().int().min(1).max(365) });
/** Usage: the baseline window, and optionally the most recent days in which spikes are reported. */
const UsageArgs = z
  .object({ window_days: z.number().int().min(1).max(365), focus_days: z.number().int().min(1).max(364).optional() })
  .refine((a) => a.focus_days === undefined || a.focus_days < a.window_days, { message: 'focus_days must be shorter than window_days', path: ['focus_days'] });
const AccountWindowParams = z.object({ user_ids: z.array(z.string()), since: z.coerce.date(), until: z.coerce.date() });

function define<A, R>(d: StepDefinition<A, R>): StepDefinition<A, R> {
  return d;
}

// ---------------------------------------------------------------------------------------------
// Resolution: subject → account user_ids

const ResolvedRow = z.object({ user_id: z.string() });
const ResolveArgs = z.object({ value: z.string().min(1).max(320), lookback_days: z.number().int().min(1).max(3650), window_days: z.number().int().min(1).max(365) });
type ResolveArgs = z.infer<typeof ResolveArgs>;

const resolveBase = {
  args: ResolveArgs,
  row: ResolvedRow,
  rowKey: (r: z.infer<typeof ResolvedRow>) => r.user_id,
  maxRows: MAX_ACCOUNTS,
  needsAccounts: false,
  range: 'history',
} as const;

export const RESOLVE_STEPS: Record<SubjectType, StepDefinition<ResolveArgs, z.infer<typeof ResolvedRow>>> = {
  email: define({
    ...resolveBase,
    name: 'resolve_email',
    description: 'Find the account registered with the email address.',
    sql: `SELECT user_id FROM dim_users WHERE email = @email ORDER BY user_id`,
    params: z.object({ email: z.string() }),
    paramColumns: { email: 'dim_users.email' },
    bind: (a) => ({ email: a.value.trim().toLowerCase() }),
  }),
  user_id: define({
    ...resolveBase,
    name: 'resolve_user_id',
    description: 'Check that the account exists.',
    sql: `SELECT user_id FROM dim_users WHERE user_id = @user_id`,
    params: z.object({ user_id: z.string() }),
    paramColumns: { user_id: 'dim_users.user_id' },
    bind: (a) => ({ user_id: a.value.trim() }),
  }),
  voice_id: define({
    ...resolveBase,
    name: 'resolve_voice_id',
    description: 'Find the account that owns the voice.',
    sql: `SELECT u.user_id
FROM dim_voices v
JOIN dim_users u ON u.user_id = v.owner_user_id
WHERE v.voice_id = @voice_id
ORDER BY u.user_id`,
    params: z.object({ voice_id: z.string() }),
    paramColumns: { voice_id: 'dim_voices.voice_id' },
    bind: (a) => ({ voice_id: a.value.trim() }),
  }),
  ip: define({
    ...resolveBase,
    name: 'resolve_ip',
    description: 'Find accounts that signed up or logged in from the IP address, or used it for requests in the window.',
    sql: `SELECT u.user_id
FROM dim_users u
WHERE u.signup_ip = @ip
   OR u.user_id IN (SELECT l.user_id FROM fct_logins l WHERE l.ip = @ip AND l.login_ts >= @since AND l.login_ts < @until)
   OR u.user_id IN (SELECT e.user_id FROM fct_tts_usage e WHERE e.ip = @ip AND e.event_ts >= @window_since AND e.event_ts < @until)
ORDER BY u.user_id`,
    params: z.object({ ip: z.string(), since: z.coerce.date(), window_since: z.coerce.date(), until: z.coerce.date() }),
    paramColumns: { ip: 'dim_users.signup_ip', since: 'fct_logins.login_ts', window_since: 'fct_tts_usage.event_ts', until: 'fct_logins.login_ts' },
    bind: (a, ctx) => ({ ip: a.value.trim().toLowerCase(), since: since(ctx.now, a.lookback_days), window_since: since(ctx.now, a.window_days), until: ctx.now }),
  }),
  card_fingerprint: define({
    ...resolveBase,
    name: 'resolve_card_fingerprint',
    description: 'Find accounts that paid with the card.',
    sql: `SELECT u.user_id
FROM dim_users u
WHERE u.user_id IN (
  SELECT p.user_id FROM fct_payments p
  WHERE p.card_fingerprint = @card_fingerprint AND p.payment_ts >= @since AND p.payment_ts < @until
)
ORDER BY u.user_id`,
    params: z.object({ card_fingerprint: z.string(), since: z.coerce.date(), until: z.coerce.date() }),
    paramColumns: { card_fingerprint: 'fct_payments.card_fingerprint', since: 'fct_payments.payment_ts', until: 'fct_payments.payment_ts' },
    bind: (a, ctx) => ({ card_fingerprint: a.value.trim(), since: since(ctx.now, a.lookback_days), until: ctx.now }),
  }),
};

// ---------------------------------------------------------------------------------------------
// Per-account steps

export const ProfileRow = z.object({
  user_id: z.string(),
  created_at: iso,
  country: z.string().nullable(),
  plan: z.string(),
  account_status: z.string(),
  identity_verified: z.boolean(),
});
export type ProfileRow = z.infer<typeof ProfileRow>;

export const accountProfile = define({
  name: 'account_profile',
  description: 'Read the accounts: creation time, plan, country, status and identity verification (no personal data).',
  args: z.object({}),
  sql: `SELECT user_id, created_at, country, plan, account_status, identity_verified
FROM dim_users
WHERE user_id IN (SELECT * FROM UNNEST(@user_ids))
ORDER BY user_id`,
  params: z.object({ user_ids: z.array(z.string()) }),
  paramColumns: { user_ids: 'dim_users.user_id' },
  bind: (_a, ctx) => ({ user_ids: ctx.accounts }),
  row: ProfileRow,
  rowKey: (r) => r.user_id,
  maxRows: MAX_ACCOUNTS,
  needsAccounts: true,
  range: 'none',
});

export const UsageRow = z.object({
  user_id: z.string(),
  usage_date: isoDate,
  requests: num,
  characters: num,
  api_requests: num,
  voices: num,
  max_moderation_score: num.nullable(),
});
export type UsageRow = z.infer<typeof UsageRow>;

export const usageSummary = define({
  name: 'usage_summary',
  description: 'Daily text-to-speech usage of the accounts over the window: requests, characters, API share, voices.',
  args: UsageArgs,
  sql: `SELECT user_id,
       CAST(event_ts AS DATE) AS usage_date,
       COUNT(*) AS requests,
       SUM(characters) AS characters,
       SUM(CASE WHEN source = 'api' THEN 1 ELSE 0 END) AS api_requests,
       COUNT(DISTINCT voice_id) AS voices,
       MAX(moderation_score) AS max_moderation_score
FROM fct_tts_usage
WHERE event_ts >= @since AND event_ts < @until
  AND user_id IN (SELECT * FROM UNNEST(@user_ids))
GROUP BY user_id, usage_date
ORDER BY user_id, usage_date`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'fct_tts_usage.user_id', since: 'fct_tts_usage.event_ts', until: 'fct_tts_usage.event_ts' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.window_days), until: ctx.now }),
  row: UsageRow,
  rowKey: (r) => `${r.user_id}|${r.usage_date}`,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'window',
});

export const FlagRow = z.object({
  flag_id: z.string(),
  user_id: z.string(),
  flagged_at: iso,
  category: z.string(),
  severity: z.string(),
  source: z.string(),
  action_taken: z.string().nullable(),
  request_id: z.string().nullable(),
  voice_id: z.string().nullable(),
});
export type FlagRow = z.infer<typeof FlagRow>;

export const moderationHistory = define({
  name: 'moderation_history',
  description: 'Moderation flags raised on the accounts (category, severity, source, action; never the flagged text).',
  args: HistoryArgs,
  sql: `SELECT flag_id, user_id, flagged_at, category, severity, source, action_taken, request_id, voice_id
FROM fct_moderation_flags
WHERE flagged_at >= @since AND flagged_at < @until
  AND user_id IN (SELECT * FROM UNNEST(@user_ids))
ORDER BY user_id, flagged_at, flag_id`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'fct_moderation_flags.user_id', since: 'fct_moderation_flags.flagged_at', until: 'fct_moderation_flags.flagged_at' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.lookback_days), until: ctx.now }),
  row: FlagRow,
  rowKey: (r) => r.flag_id,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'history',
});

export const LinkRow = z.object({
  subject_user_id: z.string(),
  linked_user_id: z.string(),
  link_type: z.enum(['card', 'device', 'ip']),
  shared_identifiers: num,
  linked_status: z.string(),
  linked_created_at: iso,
});
export type LinkRow = z.infer<typeof LinkRow>;

/**
 * The identifiers (card, login device, login or signup IP) the accounts hold over the history range, and
 * every account holding one of them: shared by linked_accounts and ban_evasion_check.
 */
const SHARED_IDENTIFIER_CTES = `subject_keys AS (
  SELECT p.user_id AS subject_user_id, 'card' AS link_type, p.card_fingerprint AS k
  FROM fct_payments p
  WHERE p.payment_ts >= @since AND p.payment_ts < @until AND p.user_id IN (SELECT * FROM UNNEST(@user_ids))
  UNION DISTINCT
  SELECT l.user_id, 'device', l.device_fingerprint
  FROM fct_logins l
  WHERE l.login_ts >= @since AND l.login_ts < @until AND l.user_id IN (SELECT * FROM UNNEST(@user_ids))
  UNION DISTINCT
  SELECT l.user_id, 'ip', l.ip
  FROM fct_logins l
  WHERE l.login_ts >= @since AND l.login_ts < @until AND l.user_id IN (SELECT * FROM UNNEST(@user_ids))
  UNION DISTINCT
  SELECT u.user_id, 'ip', u.signup_ip
  FROM dim_users u
  WHERE u.user_id IN (SELECT * FROM UNNEST(@user_ids))
),
other_keys AS (
  SELECT p.user_id, 'card' AS link_type, p.card_fingerprint AS k
  FROM fct_payments p
  WHERE p.payment_ts >= @since AND p.payment_ts < @until
    AND p.card_fingerprint IN (SELECT k FROM subject_keys WHERE link_type = 'card')
  UNION DISTINCT
  SELECT l.user_id, 'device', l.device_fingerprint
  FROM fct_logins l
  WHERE l.login_ts >= @since AND l.login_ts < @until
    AND l.device_fingerprint IN (SELECT k FROM subject_keys WHERE link_type = 'device')
  UNION DISTINCT
  SELECT l.user_id, 'ip', l.ip
  FROM fct_logins l
  WHERE l.login_ts >= @since AND l.login_ts < @until
    AND l.ip IN (SELECT k FROM subject_keys WHERE link_type = 'ip')
  UNION DISTINCT
  SELECT u.user_id, 'ip', u.signup_ip
  FROM dim_users u
  WHERE u.signup_ip IN (SELECT k FROM subject_keys WHERE link_type = 'ip')
)`;

export const linkedAccounts = define({
  name: 'linked_accounts',
  description: 'Other accounts sharing a payment card, a login device, or a signup/login IP with the accounts, with their status.',
  args: HistoryArgs,
  sql: `WITH ${SHARED_IDENTIFIER_CTES}
SELECT s.subject_user_id,
       o.user_id AS linked_user_id,
       s.link_type,
       COUNT(DISTINCT s.k) AS shared_identifiers,
       u.account_status AS linked_status,
       u.created_at AS linked_created_at
FROM subject_keys s
JOIN other_keys o ON o.link_type = s.link_type AND o.k = s.k AND o.user_id <> s.subject_user_id
JOIN dim_users u ON u.user_id = o.user_id
GROUP BY s.subject_user_id, o.user_id, s.link_type, u.account_status, u.created_at
ORDER BY s.subject_user_id, linked_user_id, s.link_type`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'dim_users.user_id', since: 'fct_logins.login_ts', until: 'fct_logins.login_ts' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.lookback_days), until: ctx.now }),
  row: LinkRow,
  rowKey: (r) => `${r.subject_user_id}|${r.linked_user_id}|${r.link_type}`,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'history',
});

export const VoiceRow = z.object({
  voice_id: z.string(),
  owner_user_id: z.string(),
  voice_type: z.string(),
  verification_status: z.string(),
  is_public: z.boolean(),
  has_likeness: z.boolean(),
  used_by: z.string().nullable(),
  requests: num,
  characters: num,
});
export type VoiceRow = z.infer<typeof VoiceRow>;

export const ownedVoices = define({
  name: 'owned_voices',
  description: 'Voices the accounts own (type, verification, public, likeness match) and who used them in the window.',
  args: WindowArgs,
  sql: `WITH owned AS (
  SELECT voice_id, owner_user_id, voice_type, verification_status, is_public, likeness_flag IS NOT NULL AS has_likeness
  FROM dim_voices
  WHERE owner_user_id IN (SELECT * FROM UNNEST(@user_ids))
),
used AS (
  SELECT voice_id, user_id, COUNT(*) AS requests, SUM(characters) AS characters
  FROM fct_tts_usage
  WHERE event_ts >= @since AND event_ts < @until
    AND voice_id IN (SELECT voice_id FROM owned)
  GROUP BY voice_id, user_id
)
SELECT o.voice_id, o.owner_user_id, o.voice_type, o.verification_status, o.is_public, o.has_likeness,
       u.user_id AS used_by,
       COALESCE(u.requests, 0) AS requests,
       COALESCE(u.characters, 0) AS characters
FROM owned o
LEFT JOIN used u ON u.voice_id = o.voice_id
ORDER BY o.voice_id, u.user_id IS NULL, used_by`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'dim_voices.owner_user_id', since: 'fct_tts_usage.event_ts', until: 'fct_tts_usage.event_ts' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.window_days), until: ctx.now }),
  row: VoiceRow,
  rowKey: (r) => `${r.voice_id}|${r.used_by ?? '-'}`,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'window',
});

export const PaymentRow = z.object({
  payment_id: z.string(),
  user_id: z.string(),
  payment_ts: iso,
  status: z.string(),
  card_country: z.string().nullable(),
  amount_usd: num,
  /** The card as a per-account ordinal: distinct cards without exposing fingerprints. */
  card_no: num,
});
export type PaymentRow = z.infer<typeof PaymentRow>;

export const paymentHistory = define({
  name: 'payment_history',
  description: 'Payment attempts of the accounts: status, amount, card country and a per-account card number (no fingerprints).',
  args: HistoryArgs,
  sql: `SELECT payment_id, user_id, payment_ts, status, card_country, amount_usd,
       DENSE_RANK() OVER (PARTITION BY user_id ORDER BY card_fingerprint) AS card_no
FROM fct_payments
WHERE payment_ts >= @since AND payment_ts < @until
  AND user_id IN (SELECT * FROM UNNEST(@user_ids))
ORDER BY user_id, payment_ts, payment_id`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'fct_payments.user_id', since: 'fct_payments.payment_ts', until: 'fct_payments.payment_ts' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.lookback_days), until: ctx.now }),
  row: PaymentRow,
  rowKey: (r) => r.payment_id,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'history',
});

export const VoiceUserRow = z.object({
  voice_id: z.string(),
  owner_user_id: z.string().nullable(),
  user_id: z.string(),
  account_status: z.string(),
  requests: num,
  characters: num,
  first_used: iso,
  last_used: iso,
});
export type VoiceUserRow = z.infer<typeof VoiceUserRow>;

const VoiceUsersArgs = z.object({
  window_days: z.number().int().min(1).max(365),
  /** One voice to look at (a voice id is not personal data); without it, every voice the accounts own. */
  voice_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).optional(),
});

export const voiceUsers = define({
  name: 'voice_users',
  description: 'Accounts that used the voice (or the voices the accounts own) in the window, with their status and volume.',
  args: VoiceUsersArgs,
  sql: `WITH target AS (
  SELECT voice_id, owner_user_id
  FROM dim_voices
  WHERE voice_id IN (SELECT * FROM UNNEST(@voice_ids))
     OR owner_user_id IN (SELECT * FROM UNNEST(@user_ids))
)
SELECT t.voice_id,
       t.owner_user_id,
       e.user_id,
       u.account_status,
       COUNT(*) AS requests,
       SUM(e.characters) AS characters,
       MIN(e.event_ts) AS first_used,
       MAX(e.event_ts) AS last_used
FROM fct_tts_usage e
JOIN target t ON t.voice_id = e.voice_id
JOIN dim_users u ON u.user_id = e.user_id
WHERE e.event_ts >= @since AND e.event_ts < @until
GROUP BY t.voice_id, t.owner_user_id, e.user_id, u.account_status
ORDER BY t.voice_id, e.user_id`,
  params: z.object({ voice_ids: z.array(z.string()), user_ids: z.array(z.string()), since: z.coerce.date(), until: z.coerce.date() }),
  paramColumns: { voice_ids: 'dim_voices.voice_id', user_ids: 'dim_voices.owner_user_id', since: 'fct_tts_usage.event_ts', until: 'fct_tts_usage.event_ts' },
  // A named voice replaces the accounts' own voices, so "who uses voice X" is about X only.
  bind: (a, ctx) => ({ voice_ids: a.voice_id ? [a.voice_id] : [], user_ids: a.voice_id ? [] : ctx.accounts, since: since(ctx.now, a.window_days), until: ctx.now }),
  row: VoiceUserRow,
  rowKey: (r) => `${r.voice_id}|${r.user_id}`,
  maxRows: 1_000,
  needsAccounts: true,
  range: 'window',
});

export const BanEvasionRow = z.object({
  subject_user_id: z.string(),
  subject_created_at: iso,
  banned_user_id: z.string(),
  banned_created_at: iso,
  link_type: z.enum(['card', 'device', 'ip']),
  shared_identifiers: num,
});
export type BanEvasionRow = z.infer<typeof BanEvasionRow>;

/**
 * Ban evasion as its own query, so the finding's evidence is exactly the rows that make the case:
 * a banned account, created before the subject account, sharing a card, device or signup/login IP
 * with it. Same link definition as linked_accounts.
 */
export const banEvasionCheck = define({
  name: 'ban_evasion_check',
  description: 'Banned accounts created before the accounts that share a payment card, login device or signup/login IP with them.',
  args: HistoryArgs,
  sql: `WITH subjects AS (
  SELECT user_id, created_at
  FROM dim_users
  WHERE user_id IN (SELECT * FROM UNNEST(@user_ids))
),
${SHARED_IDENTIFIER_CTES}
SELECT s.subject_user_id,
       su.created_at AS subject_created_at,
       o.user_id AS banned_user_id,
       b.created_at AS banned_created_at,
       s.link_type,
       COUNT(DISTINCT s.k) AS shared_identifiers
FROM subject_keys s
JOIN other_keys o ON o.link_type = s.link_type AND o.k = s.k AND o.user_id <> s.subject_user_id
JOIN subjects su ON su.user_id = s.subject_user_id
JOIN dim_users b ON b.user_id = o.user_id
WHERE b.account_status = 'banned' AND b.created_at < su.created_at
GROUP BY s.subject_user_id, su.created_at, o.user_id, b.created_at, s.link_type
ORDER BY s.subject_user_id, banned_user_id, s.link_type`,
  params: AccountWindowParams,
  paramColumns: { user_ids: 'dim_users.user_id', since: 'fct_logins.login_ts', until: 'fct_logins.login_ts' },
  bind: (a, ctx) => ({ user_ids: ctx.accounts, since: since(ctx.now, a.lookback_days), until: ctx.now }),
  row: BanEvasionRow,
  rowKey: (r) => `${r.subject_user_id}|${r.banned_user_id}|${r.link_type}`,
  maxRows: 10_000,
  needsAccounts: true,
  range: 'history',
});

// ---------------------------------------------------------------------------------------------
// Registry

/** The full plan's account steps, in order (voice_users is added for voice subjects and voice questions). */
export const ACCOUNT_STEPS = [accountProfile, usageSummary, moderationHistory, linkedAccounts, banEvasionCheck, ownedVoices, paymentHistory] as const;
/** Account steps that only a question (or a voice subject) brings into the plan. */
export const EXTRA_STEPS = [voiceUsers] as const;

/** Every step by name (names are unique across the registry). */
export const STEPS: Record<string, StepDefinition<any, any>> = Object.fromEntries(
  [...Object.values(RESOLVE_STEPS), ...ACCOUNT_STEPS, ...EXTRA_STEPS].map((s) => [s.name, s as StepDefinition<any, any>]),
);

const infoCache = new Map<string, StepInfo>();

/** Tables, template hash and PII-ness of a step, derived from its definition. */
export function stepInfo(step: StepDefinition<any, any>): StepInfo {
  let info = infoCache.get(step.name);
  if (!info) {
    const described = describeSql(step.sql);
    info = { tables: described.tables, sqlHash: described.sqlHash, piiParams: Object.values(step.paramColumns).some((c) => isPiiColumn(c)) };
    infoCache.set(step.name, info);
  }
  return info;
}
