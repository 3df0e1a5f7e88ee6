import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT, TABLE_NAMES, type AccountStatus, type ModerationCategory, type PaymentStatus, type Plan, type Severity, type TableName } from './contract.js';
import { Prng } from './prng.js';

/**
 * Deterministic synthetic warehouse data that follows the contract exactly: a population of mostly
 * clean accounts over the last DATA_DAYS days before an injected `now`, with every abuse pattern of
 * the contract planted several times in different shapes, fixed demo subjects, and negative
 * controls (look-alikes that must NOT be reported). The ground truth says which account carries
 * which pattern and which findings an investigation of it must produce.
 *
 * Clean-by-construction rules keep that truth exact: background identifiers (IPs, devices, cards)
 * are unique per account, background daily volume stays within ~5x of its own median, background
 * payments never have chargebacks, more than 4 failures or foreign cards, and background
 * moderation flags are only low/medium spam/political/other.
 */
export const GENERATOR_VERSION = 1;
export const DATA_DAYS = 120;
export const MIN_USERS = 50;
const DAY = 86_400_000;

export type Row = Record<string, string | number | boolean | Date | null>;
export type GeneratedTables = Record<TableName, Row[]>;

/** Finding types an investigation reports (the agent's `Finding.type`). */
export type ExpectedFinding = 'linked_accounts' | 'ban_evasion' | 'impersonation' | 'usage_anomaly' | 'moderation_history' | 'payment_risk' | 'account_status';
export type PatternName = ExpectedFinding | 'moderation_escalation';

export interface DemoSubject {
  key: string;
  description: string;
  subject: { type: 'email' | 'user_id' | 'voice_id' | 'ip' | 'card_fingerprint'; value: string };
  /** The accounts the subject resolves to. */
  user_ids: string[];
  /** Finding types the investigation must report (union over the accounts). */
  expected_findings: ExpectedFinding[];
  /** Whether a finding must be escalated. */
  escalate: boolean;
}

export interface GroundTruth {
  generator_version: number;
  seed: number;
  users: number;
  now: string;
  data_days: number;
  demo_subjects: DemoSubject[];
  patterns: Record<PatternName, string[]>;
  /** Expected finding types per account, for every account with at least one; all others: none. */
  accounts: Record<string, ExpectedFinding[]>;
  negative_controls: { user_id: string; description: string }[];
}

export interface GeneratedData {
  tables: GeneratedTables;
  groundTruth: GroundTruth;
}

export interface GeneratorOptions {
  /** Accounts (at least; `usageRows` may add more). */
  users: number;
  seed: number;
  now: Date;
  /** Volume knob: add ordinary accounts until fct_tts_usage has at least this many rows. */
  usageRows?: number;
}

/** The demo accounts, fixed across seeds so documentation can name them. */
export const DEMO = {
  clean: { user_id: 'usr_demo_clean', email: 'clean.user@example.com' },
  evader: { user_id: 'usr_demo_evader', email: 'ban.evader@example.com' },
  evaded: { user_id: 'usr_demo_banned_orig', email: 'banned.original@example.com' },
  ringMember: { user_id: 'usr_demo_ring_member', email: 'ring.member@example.com' },
  voiceOwner: { user_id: 'usr_demo_voice_owner', email: 'voice.owner@example.com', voice_id: 'voice_demo_likeness' },
  spiky: { user_id: 'usr_demo_spiky', email: 'spiky.user@example.com' },
  flagged: { user_id: 'usr_demo_flagged', email: 'flagged.user@example.com' },
  paymentRisk: { user_id: 'usr_demo_payment_risk', email: 'payment.risk@example.com' },
  steady: { user_id: 'usr_demo_steady', email: 'steady.heavy@example.com' },
  team: { user_id: 'usr_demo_team_1', email: 'team.member@example.com' },
  ringIp: '203.0.113.77',
  ringCard: 'fp_demo_ring_card_0001',
} as const;

// ---------------------------------------------------------------------------------------------
// Vocabularies and distributions

const PLAN_WEIGHTS: [Plan, number][] = [['free', 60], ['starter', 15], ['creator', 12], ['pro', 7], ['scale', 3], ['business', 2], ['enterprise', 1]];
const COUNTRY_WEIGHTS: [string | null, number][] = [
  ['US', 30], ['GB', 8], ['DE', 8], ['IN', 8], ['BR', 6], ['FR', 5], ['JP', 4], ['ES', 4], ['CA', 4], ['PL', 3],
  ['IT', 3], ['MX', 3], ['NL', 2], ['KR', 2], ['AU', 2], ['SE', 1], ['TR', 1], ['ID', 1], ['NG', 1], [null, 2],
];
/** Typical daily characters and characters per request by plan. */
const VOLUME: Record<Plan, { daily: number; perRequest: number; amount: number }> = {
  free: { daily: 1_000, perRequest: 300, amount: 0 },
  starter: { daily: 3_000, perRequest: 600, amount: 5 },
  creator: { daily: 8_000, perRequest: 900, amount: 22 },
  pro: { daily: 15_000, perRequest: 1_200, amount: 99 },
  scale: { daily: 30_000, perRequest: 1_500, amount: 330 },
  business: { daily: 40_000, perRequest: 1_600, amount: 1_320 },
  enterprise: { daily: 80_000, perRequest: 2_000, amount: 5_000 },
};
const MODELS: [string, number][] = [['tts_multilingual_v2', 45], ['tts_turbo_v2_5', 30], ['tts_flash_v2_5', 20], ['tts_english_v1', 5]];
const FIRST = ['alex', 'sam', 'jordan', 'taylor', 'morgan', 'casey', 'riley', 'jamie', 'avery', 'quinn', 'maria', 'li', 'ahmed', 'sofia', 'lucas', 'emma', 'noah', 'mia', 'yuki', 'arjun', 'fatima', 'olga', 'pedro', 'chen', 'amara', 'lea', 'jonas', 'ines', 'kofi', 'hana'];
const LAST = ['smith', 'garcia', 'müller', 'khan', 'silva', 'martin', 'tanaka', 'kowalski', 'rossi', 'novak', 'patel', 'kim', 'dubois', 'jensen', 'okafor', 'lopez', 'nguyen', 'ivanova', 'schmidt', 'costa'];
const DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.test', 'inbox.test'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'tts-python-sdk/1.8.2',
  'tts-node-sdk/2.3.0',
];
const VOICE_NAMES = ['Warm Narrator', 'My Voice', 'Podcast Host', 'Audiobook Reader', 'Calm Guide', 'Bright Promo', 'Deep Trailer', 'Gentle Teacher', 'Studio Take 2', 'Channel Voice'];
const BENIGN_EXCERPTS: Record<string, string[]> = {
  spam: ['Limited offer: click the link to claim your prize', 'Subscribe now for free followers and likes'],
  political: ['Vote for the candidate who will fix everything overnight', 'The election was decided before it began'],
  other: ['This message was flagged for review by the classifier', 'Repeated test phrase for the demo'],
};

// ---------------------------------------------------------------------------------------------
// The world being built

interface Card {
  fp: string;
  country: string | null;
}

interface Activity {
  daily: number;
  perRequest: number;
  activeProb: number;
}

interface UserCtx {
  id: string;
  row: Row;
  plan: Plan;
  status: AccountStatus;
  country: string | null;
  createdMs: number;
  /** Activity stops here (ban/suspension/deletion); now for active accounts. */
  endMs: number;
  ips: string[];
  devices: string[];
  cards: Card[];
  apiKey: string | null;
  activity: Activity | null;
  ownVoices: string[];
  /** A voice this account uses for most of its requests. */
  favouriteVoice: { id: string; share: number } | null;
  usage: Row[];
  background: boolean;
}

interface UserSpec {
  id?: string;
  email?: string;
  displayName?: string | null;
  createdDaysAgo: number;
  plan?: Plan;
  status?: AccountStatus;
  /** Days ago the account stopped being active (default: a random point for non-active accounts). */
  endDaysAgo?: number;
  country?: string | null;
  verified?: boolean;
  signupIp?: string;
  activity?: Partial<Activity> | null;
  apiUser?: boolean;
  cards?: Card[];
}

class World {
  tables: GeneratedTables = { dim_users: [], fct_tts_usage: [], dim_voices: [], fct_moderation_flags: [], fct_logins: [], fct_payments: [] };
  readonly users: UserCtx[] = [];
  readonly byId = new Map<string, UserCtx>();
  readonly premade: string[] = [];
  readonly links: { kind: 'card' | 'device' | 'ip'; members: string[] }[] = [];
  readonly planted = new Map<string, Set<PatternName>>();
  readonly negatives: { user_id: string; description: string }[] = [];
  private ipCounter = 0;
  private requestCounter = 0;
  private flagCounter = 0;
  private paymentCounter = 0;
  private readonly ids = new Set<string>();
  private readonly emails = new Set<string>();
  readonly todayMs: number;

  constructor(readonly rng: Prng, readonly nowMs: number) {
    this.todayMs = Math.floor(nowMs / DAY) * DAY;
  }

  dayStart(daysAgo: number): number {
    return this.todayMs - daysAgo * DAY;
  }

  /** A random instant within the day `daysAgo` days before today (always before now). */
  at(daysAgo: number, rng: Prng = this.rng): Date {
    return new Date(this.dayStart(daysAgo) + rng.int(0, DAY - 1000));
  }

  plant(userId: string, pattern: PatternName): void {
    const set = this.planted.get(userId) ?? new Set<PatternName>();
    set.add(pattern);
    this.planted.set(userId, set);
  }

  newIp(rng: Prng): string {
    const n = this.ipCounter++;
    if (rng.chance(0.15)) return `2001:db8:${((n >> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}::${rng.int(1, 0xfffe).toString(16)}`;
    // Odd multiplier: a bijection on 24 bits, so every account gets its own address in 10/8.
    const s = Number((BigInt(n) * 2654435761n) % 16777216n);
    return `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`;
  }

  newDevice(rng: Prng): string {
    return `dev_${rng.hex(24)}`;
  }

  newCard(rng: Prng, country: string | null): Card {
    return { fp: `fp_${rng.hex(24)}`, country };
  }

  addUser(spec: UserSpec, rng: Prng, background = false): UserCtx {
    let id = spec.id ?? `usr_${rng.hex(12)}`;
    while (this.ids.has(id)) id = `usr_${rng.hex(12)}`;
    this.ids.add(id);
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    let email = spec.email ?? `${first}.${last.normalize('NFD').replace(/[^a-z]/g, '')}${rng.int(1, 999)}@${rng.pick(DOMAINS)}`;
    while (this.emails.has(email)) email = email.replace('@', `${rng.int(0, 9)}@`);
    this.emails.add(email);
    const plan = spec.plan ?? rng.weighted(PLAN_WEIGHTS);
    const status = spec.status ?? 'active';
    const country = spec.country !== undefined ? spec.country : rng.weighted(COUNTRY_WEIGHTS);
    const createdMs = this.dayStart(spec.createdDaysAgo) + rng.int(0, DAY - 1000);
    const endDaysAgo = status === 'active' ? 0 : (spec.endDaysAgo ?? rng.int(5, Math.max(6, Math.min(spec.createdDaysAgo - 1, DATA_DAYS))));
    const endMs = status === 'active' ? this.nowMs : this.dayStart(endDaysAgo);
    const vol = VOLUME[plan];
    const activity: Activity | null =
      spec.activity === null
        ? null
        : {
            daily: spec.activity?.daily ?? Math.round(vol.daily * rng.float(0.5, 1.6)),
            perRequest: spec.activity?.perRequest ?? Math.round(vol.perRequest * rng.float(0.7, 1.3)),
            activeProb: spec.activity?.activeProb ?? (plan === 'business' || plan === 'enterprise' ? rng.float(0.4, 0.8) : rng.float(0.04, 0.3)),
          };
    const signupIp = spec.signupIp ?? this.newIp(rng);
    const ips = [signupIp, ...Array.from({ length: rng.int(0, 2) }, () => this.newIp(rng))];
    const devices = Array.from({ length: rng.int(1, 2) }, () => this.newDevice(rng));
    const cards = spec.cards ?? (plan === 'free' ? [] : [this.newCard(rng, country ?? 'US')]);
    const displayName = spec.displayName !== undefined ? spec.displayName : rng.chance(0.1) ? null : `${cap(first)} ${cap(last)}`;
    const verified = spec.verified ?? rng.chance(plan === 'free' ? 0.05 : plan === 'starter' || plan === 'creator' ? 0.2 : 0.6);
    const row: Row = {
      user_id: id,
      email: email.toLowerCase(),
      display_name: displayName,
      created_at: new Date(createdMs),
      country,
      plan,
      account_status: status,
      signup_ip: signupIp,
      identity_verified: verified,
    };
    this.tables.dim_users.push(row);
    const ctx: UserCtx = {
      id, row, plan, status, country, createdMs, endMs, ips, devices, cards,
      apiKey: (spec.apiUser ?? rng.chance(plan === 'free' ? 0.1 : 0.4)) ? `key_${rng.hex(12)}` : null,
      activity, ownVoices: [], favouriteVoice: null, usage: [], background,
    };
    this.users.push(ctx);
    this.byId.set(id, ctx);
    return ctx;
  }

  addVoice(owner: UserCtx | null, spec: { id?: string; type: string; status: string; isPublic: boolean; likeness?: string | null; createdDaysAgo: number; name?: string }, rng: Prng): string {
    const id = spec.id ?? `voice_${rng.hex(16)}`;
    this.tables.dim_voices.push({
      voice_id: id,
      owner_user_id: owner?.id ?? null,
      voice_type: spec.type,
      name: spec.name ?? rng.pick(VOICE_NAMES),
      created_at: new Date(this.dayStart(spec.createdDaysAgo) + rng.int(0, DAY - 1000)),
      sample_sha256: spec.type === 'cloned_instant' || spec.type === 'cloned_professional' ? rng.hex(64) : null,
      verification_status: spec.status,
      is_public: spec.isPublic,
      likeness_flag: spec.likeness ?? null,
    });
    if (owner) owner.ownVoices.push(id);
    return id;
  }

  usageRow(u: UserCtx, ts: Date, characters: number, rng: Prng, over: Partial<Row> = {}): Row {
    const source = u.apiKey && rng.chance(0.6) ? 'api' : 'web';
    let voice: string;
    if (u.favouriteVoice && rng.chance(u.favouriteVoice.share)) voice = u.favouriteVoice.id;
    else if (u.ownVoices.length && rng.chance(0.3)) voice = rng.pick(u.ownVoices);
    else voice = rng.pick(this.premade);
    const row: Row = {
      event_ts: ts,
      request_id: `req_${(this.requestCounter++).toString(16).padStart(8, '0')}${rng.hex(8)}`,
      user_id: u.id,
      voice_id: voice,
      model_id: rng.weighted(MODELS),
      characters: Math.max(1, Math.round(characters)),
      source,
      api_key_id: source === 'api' ? u.apiKey : null,
      ip: rng.pick(u.ips),
      country: u.country,
      text_sha256: rng.hex(64),
      moderation_score: Math.round(Math.min(0.3, 0.01 + 0.03 * Math.abs(rng.normal())) * 10_000) / 10_000,
      moderation_category: null,
      ...over,
    };
    this.tables.fct_tts_usage.push(row);
    u.usage.push(row);
    return row;
  }

  /** One day of requests totalling about `chars` characters. */
  usageDay(u: UserCtx, daysAgo: number, chars: number, rng: Prng, over: Partial<Row> = {}, perRequest?: number): void {
    const per = perRequest ?? u.activity?.perRequest ?? 500;
    const n = Math.max(1, Math.round(chars / per), Math.ceil(chars / 4_500));
    for (let i = 0; i < n; i++) this.usageRow(u, this.at(daysAgo, rng), Math.min(5_000, (chars / n) * rng.float(0.8, 1.2)), rng, over);
  }

  login(u: UserCtx, daysAgo: number, rng: Prng, over: { ip?: string; device?: string; success?: boolean } = {}): void {
    this.tables.fct_logins.push({
      login_ts: this.at(daysAgo, rng),
      user_id: u.id,
      ip: over.ip ?? rng.pick(u.ips),
      device_fingerprint: over.device ?? rng.pick(u.devices),
      user_agent: rng.pick(USER_AGENTS),
      success: over.success ?? true,
    });
  }

  payment(u: UserCtx, daysAgo: number, rng: Prng, over: { card?: Card; status?: PaymentStatus; amount?: number } = {}): void {
    const card = over.card ?? u.cards[0] ?? this.newCard(rng, u.country ?? 'US');
    const amount = over.amount ?? Math.max(1, VOLUME[u.plan].amount) * rng.float(0.95, 1.05);
    this.tables.fct_payments.push({
      payment_ts: this.at(daysAgo, rng),
      payment_id: `pay_${(this.paymentCounter++).toString(16).padStart(6, '0')}${rng.hex(10)}`,
      user_id: u.id,
      card_fingerprint: card.fp,
      card_country: card.country,
      amount_usd: Math.round(amount * 100) / 100,
      status: over.status ?? 'succeeded',
    });
  }

  flag(
    u: UserCtx,
    daysAgo: number,
    rng: Prng,
    f: { category: ModerationCategory; severity: Severity; source: 'classifier' | 'user_report' | 'manual'; action: string | null; onRequest?: boolean; voiceId?: string },
  ): void {
    let request: Row | null = null;
    if (f.onRequest !== false) {
      const dayStart = this.dayStart(daysAgo);
      request = u.usage.find((r) => (r.event_ts as Date).getTime() >= dayStart && (r.event_ts as Date).getTime() < dayStart + DAY) ?? null;
      if (!request) request = this.usageRow(u, this.at(daysAgo, rng), rng.int(80, 400), rng);
      request.moderation_score = Math.round(rng.float(0.8, 0.99) * 10_000) / 10_000;
      request.moderation_category = f.category;
    }
    const base = request ? (request.event_ts as Date).getTime() : this.at(daysAgo, rng).getTime();
    const sensitive = f.category === 'sexual_minors' || f.category === 'violence' || f.category === 'hate' || f.category === 'self_harm';
    this.tables.fct_moderation_flags.push({
      flag_id: `flg_${(this.flagCounter++).toString(16).padStart(6, '0')}${rng.hex(10)}`,
      flagged_at: new Date(Math.min(base + rng.int(1, 3_600) * 1_000, this.nowMs - 1)),
      user_id: u.id,
      request_id: request ? (request.request_id as string) : null,
      voice_id: f.voiceId ?? (request ? (request.voice_id as string) : null),
      category: f.category,
      severity: f.severity,
      source: f.source,
      // Synthetic placeholder text; never generate real abusive content.
      excerpt: request ? (sensitive ? '[synthetic sample withheld]' : rng.pick(BENIGN_EXCERPTS[f.category] ?? BENIGN_EXCERPTS.other!)) : null,
      action_taken: f.action,
    });
  }

  /** Ordinary behaviour: usage on active days, logins, monthly payments. Never triggers a pattern. */
  normalActivity(u: UserCtx, rng: Prng): void {
    const a = u.activity;
    if (!a) return;
    const firstDay = Math.min(DATA_DAYS, Math.floor((this.todayMs - u.createdMs) / DAY) - 1);
    const lastDay = u.status === 'active' ? 1 : Math.max(1, Math.ceil((this.todayMs - u.endMs) / DAY) + 1);
    let loggedIn = false;
    for (let d = firstDay; d >= lastDay; d--) {
      if (!rng.chance(a.activeProb)) continue;
      this.usageDay(u, d, a.daily * rng.float(0.6, 1.4), rng);
      if (!loggedIn || rng.chance(0.3)) {
        if (rng.chance(0.03)) this.login(u, d, rng, { success: false });
        this.login(u, d, rng);
        loggedIn = true;
      }
    }
    if (u.plan !== 'free' && u.cards.length) {
      const offset = rng.int(0, 29);
      let failures = 0;
      for (let d = offset; d <= Math.min(DATA_DAYS, firstDay); d += 30) {
        if (d < lastDay) continue;
        // At most two failed renewals: "many failed attempts" is a planted pattern, never noise.
        if (failures < 2 && rng.chance(0.04)) {
          failures++;
          this.payment(u, d, rng, { status: 'failed' });
        }
        const card = u.cards.length > 1 && rng.chance(0.5) ? u.cards[1]! : u.cards[0]!;
        this.payment(u, d, rng, { card, status: rng.chance(0.02) ? 'refunded' : 'succeeded' });
      }
    }
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Generation

/** Accounts generated in memory with the planted scenarios; more are streamed in chunks (`bulk`). */
export const CORE_MAX_USERS = 5_000;
/** Upper bound on the population, whatever the usage target. */
export const MAX_USERS = 2_000_000;
const BULK_CHUNK = 500;

/** Receives rows as they are generated: core tables once, then one call per table per bulk chunk. */
export type RowSink = (table: TableName, rows: Row[]) => void;

export interface GenerationResult {
  groundTruth: GroundTruth;
  rows: Record<TableName, number>;
}

/**
 * Generates into `sink`: the planted scenarios and up to CORE_MAX_USERS accounts in memory (exact
 * ground truth from the planted links), then further ordinary accounts in chunks of BULK_CHUNK,
 * each from its own seeded stream, until `users` accounts exist and, with `usageRows`, until
 * fct_tts_usage has at least that many rows. Bulk accounts follow the clean-by-construction rules
 * of the background population, are never kept after their chunk is emitted (so 10M usage rows
 * never sit in memory), and their findings (account status, benign moderation flags) are added to
 * the ground truth as they are made.
 */
export function generateWarehouse(options: GeneratorOptions, sink: RowSink): GenerationResult {
  if (!Number.isInteger(options.users) || options.users < MIN_USERS) throw new Error(`users must be an integer >= ${MIN_USERS}`);
  if (options.users > MAX_USERS) throw new Error(`users must be <= ${MAX_USERS}`);
  if (options.usageRows !== undefined && (!Number.isInteger(options.usageRows) || options.usageRows < 0)) throw new Error('usageRows must be a whole number');
  const root = new Prng(`tsi-warehouse/v${GENERATOR_VERSION}/${options.seed}`);
  const w = new World(root.fork('world'), options.now.getTime());

  for (let i = 1; i <= 20; i++) {
    w.premade.push(w.addVoice(null, { id: `voice_premade_${String(i).padStart(2, '0')}`, type: 'premade', status: 'verified', isPublic: true, createdDaysAgo: 700, name: `Library Voice ${i}` }, root.fork('premade')));
  }

  const plantedRng = root.fork('planted');
  const planted = plantPatterns(w, plantedRng);
  const coreUsers = Math.min(options.users, CORE_MAX_USERS);
  const backgroundCount = coreUsers - w.users.length;
  if (backgroundCount < 8) throw new Error(`users must be >= ${w.users.length + 8} (the planted scenarios alone use ${w.users.length} accounts)`);

  const bgRng = root.fork('background');
  const background: UserCtx[] = [];
  for (let i = 0; i < backgroundCount; i++) background.push(addBackgroundUser(w, bgRng));

  const activityRng = root.fork('activity');
  for (const u of w.users) w.normalActivity(u, activityRng);
  planted.afterActivity(background);

  const flagRng = root.fork('background-flags');
  for (const u of background) backgroundFlags(w, u, flagRng);

  const truth = groundTruth(w, options, planted.demoSubjects);
  const rows = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
  const flush = () => {
    for (const t of TABLE_NAMES) {
      if (w.tables[t].length) sink(t, w.tables[t]);
      rows[t] += w.tables[t].length;
      w.tables[t] = [];
    }
  };
  flush();

  // Bulk: more ordinary accounts, streamed. Their only possible findings are their own status and
  // benign moderation flags (identifiers are unique, volume steady, payments clean).
  let users = w.users.length;
  const wantMore = () => users < options.users || (options.usageRows !== undefined && rows.fct_tts_usage < options.usageRows && users < MAX_USERS);
  for (let chunk = 0; wantMore(); chunk++) {
    const rng = root.fork(`bulk/${chunk}`);
    const size = Math.min(BULK_CHUNK, Math.max(options.users - users, 0) || BULK_CHUNK, MAX_USERS - users);
    const made: UserCtx[] = [];
    for (let i = 0; i < size; i++) made.push(addBackgroundUser(w, rng));
    for (const u of made) w.normalActivity(u, rng);
    for (const u of made) backgroundFlags(w, u, rng);
    const flaggedHere = new Set(w.tables.fct_moderation_flags.map((f) => f.user_id as string));
    for (const u of made) {
      const found: ExpectedFinding[] = [];
      if (u.status === 'banned' || u.status === 'suspended') found.push('account_status');
      if (flaggedHere.has(u.id)) found.push('moderation_history');
      if (found.length) truth.accounts[u.id] = found;
      for (const f of found) truth.patterns[f].push(u.id);
      u.usage = [];
      w.byId.delete(u.id);
    }
    w.users.length -= made.length;
    users += made.length;
    flush();
  }
  truth.users = users;
  return { groundTruth: truth, rows };
}

/** The whole dataset in memory: for tests and small populations (use `writeWarehouseFolder` for big ones). */
export function generateWarehouseData(options: GeneratorOptions): GeneratedData {
  const tables: GeneratedTables = { dim_users: [], fct_tts_usage: [], dim_voices: [], fct_moderation_flags: [], fct_logins: [], fct_payments: [] };
  const { groundTruth: truth } = generateWarehouse(options, (t, rows) => {
    if (!tables[t].length) tables[t] = rows;
    else for (const r of rows) tables[t].push(r);
  });
  return { tables, groundTruth: truth };
}

/** An ordinary account of the background population: clean by construction, sometimes dormant. */
function addBackgroundUser(w: World, rng: Prng): UserCtx {
  const createdDaysAgo = rng.chance(0.7) ? rng.int(DATA_DAYS + 1, 1_100) : rng.int(2, DATA_DAYS);
  const status = rng.weighted<AccountStatus>([['active', 96.8], ['suspended', 1.5], ['banned', 0.7], ['deleted', 1]]);
  const dormant = rng.chance(0.25);
  const u = w.addUser({ createdDaysAgo, status, ...(dormant ? { activity: null } : {}) }, rng, true);
  if (u.plan !== 'free' && rng.chance(0.25)) {
    const pro = ['pro', 'scale', 'business', 'enterprise'].includes(u.plan);
    const type = pro && rng.chance(0.3) ? 'cloned_professional' : 'cloned_instant';
    const st = rng.weighted([['verified', 70], ['unverified', 25], ['rejected', 5]] as const);
    w.addVoice(u, { type, status: st, isPublic: rng.chance(0.1), createdDaysAgo: Math.max(1, Math.min(createdDaysAgo - 1, rng.int(1, 400))) }, rng);
  } else if (rng.chance(0.05)) {
    w.addVoice(u, { type: 'generated', status: 'verified', isPublic: rng.chance(0.2), createdDaysAgo: Math.max(1, Math.min(createdDaysAgo - 1, rng.int(1, 400))) }, rng);
  }
  return u;
}

/** Background moderation noise: a few low/medium flags in non-escalating categories. */
function backgroundFlags(w: World, u: UserCtx, rng: Prng): void {
  if (!u.usage.length || !rng.chance(0.04)) return;
  for (let k = rng.int(1, 2); k > 0; k--) {
    const row = rng.pick(u.usage);
    const daysAgo = Math.floor((w.todayMs - (row.event_ts as Date).getTime()) / DAY) + 1;
    w.flag(u, daysAgo, rng, {
      category: rng.pick(['spam', 'political', 'other'] as const),
      severity: rng.chance(0.7) ? 'low' : 'medium',
      source: rng.chance(0.8) ? 'classifier' : 'user_report',
      action: rng.chance(0.7) ? 'none' : 'warned',
    });
  }
}

interface Planted {
  demoSubjects: DemoSubject[];
  /** Runs after ordinary activity exists (voice use by other accounts needs their usage). */
  afterActivity(background: UserCtx[]): void;
}

function plantPatterns(w: World, rng: Prng): Planted {
  const r = (label: string) => rng.fork(label);
  const link = (kind: 'card' | 'device' | 'ip', members: UserCtx[]) => w.links.push({ kind, members: members.map((m) => m.id) });

  // --- Demo: a clean, verified, steady account (no findings expected).
  const g = r('clean');
  const clean = w.addUser({ id: DEMO.clean.user_id, email: DEMO.clean.email, displayName: 'Casey Clean', createdDaysAgo: 400, plan: 'pro', country: 'US', verified: true, activity: { daily: 15_000, perRequest: 1_200, activeProb: 0.7 } }, g);
  w.addVoice(clean, { type: 'cloned_professional', status: 'verified', isPublic: false, createdDaysAgo: 300 }, g);
  w.negatives.push({ user_id: clean.id, description: 'clean demo account: regular usage, own verified voice, paid on time' });

  // --- Demo: steady heavy usage, a look-alike for the spike detector (no findings expected).
  const steady = w.addUser({ id: DEMO.steady.user_id, email: DEMO.steady.email, createdDaysAgo: 500, plan: 'enterprise', country: 'DE', verified: true, activity: { daily: 200_000, perRequest: 4_000, activeProb: 0.95 } }, r('steady'));
  w.negatives.push({ user_id: steady.id, description: 'very high but steady daily volume: not a usage anomaly' });

  // --- Demo: ban evasion. A banned account, then a new one on the same card and device.
  const eg = r('evasion');
  const evCard = w.newCard(eg, 'GB');
  const evDevice = w.newDevice(eg);
  const evaded = w.addUser({ id: DEMO.evaded.user_id, email: DEMO.evaded.email, createdDaysAgo: 300, plan: 'creator', status: 'banned', endDaysAgo: 70, country: 'GB', cards: [evCard] }, eg);
  const evader = w.addUser({ id: DEMO.evader.user_id, email: DEMO.evader.email, createdDaysAgo: 35, plan: 'creator', country: 'GB', cards: [evCard] }, eg);
  evaded.devices.push(evDevice);
  evader.devices.push(evDevice);
  for (const d of [110, 95, 80]) w.login(evaded, d, eg, { device: evDevice });
  w.payment(evaded, 100, eg, { card: evCard });
  w.flag(evaded, 72, eg, { category: 'fraud', severity: 'high', source: 'manual', action: 'banned', onRequest: false });
  for (const d of [34, 20, 6]) w.login(evader, d, eg, { device: evDevice });
  w.payment(evader, 33, eg, { card: evCard });
  link('card', [evaded, evader]);
  link('device', [evaded, evader]);
  w.plant(evader.id, 'ban_evasion');

  // --- Demo: a fraud ring on one card and one proxy IP; the demo member predates the bans.
  const rg = r('ring-a');
  const ringCard: Card = { fp: DEMO.ringCard, country: 'US' };
  const ringSpecs: [string | undefined, string | undefined, number, AccountStatus, number?][] = [
    [DEMO.ringMember.user_id, DEMO.ringMember.email, 150, 'active'],
    [undefined, undefined, 140, 'active'],
    [undefined, undefined, 100, 'suspended', 20],
    [undefined, undefined, 90, 'banned', 40],
    [undefined, undefined, 80, 'banned', 30],
  ];
  const ringA = ringSpecs.map(([id, email, created, status, end]) =>
    w.addUser({ ...(id ? { id } : {}), ...(email ? { email } : {}), createdDaysAgo: created, plan: 'starter', status, ...(end ? { endDaysAgo: end } : {}), country: 'US' }, rg),
  );
  for (const m of ringA) {
    const active = Math.floor((w.todayMs - m.endMs) / DAY) + 2;
    w.payment(m, Math.max(active, 15), rg, { card: ringCard });
    w.login(m, Math.max(active, 12), rg, { ip: DEMO.ringIp });
    if (m.status === 'banned') w.flag(m, active, rg, { category: 'fraud', severity: 'high', source: 'manual', action: 'banned', onRequest: false });
    if (m.status === 'suspended') w.flag(m, active, rg, { category: 'fraud', severity: 'medium', source: 'manual', action: 'suspended', onRequest: false });
  }
  link('card', ringA);
  link('ip', ringA);

  // --- Ring B: shared device; one member created after the banned one (ban evasion by device).
  const bg = r('ring-b');
  const ringBDevice = w.newDevice(bg);
  const ringB = ([[200, 'active'], [150, 'active'], [120, 'banned', 50], [45, 'active']] as [number, AccountStatus, number?][]).map(([created, status, end]) =>
    w.addUser({ createdDaysAgo: created, plan: 'creator', status, ...(end ? { endDaysAgo: end } : {}) }, bg),
  );
  for (const m of ringB) {
    const lastActive = Math.floor((w.todayMs - m.endMs) / DAY) + 2;
    w.login(m, Math.max(lastActive, Math.min(60, Math.floor((w.todayMs - m.createdMs) / DAY) - 1)), bg, { device: ringBDevice });
    if (m.status === 'banned') w.flag(m, lastActive, bg, { category: 'hate', severity: 'high', source: 'manual', action: 'banned', onRequest: false });
  }
  link('device', ringB);

  // --- Ring C: shared signup and login IP, three banned, two later accounts.
  const cg = r('ring-c');
  const ringCIp = '198.51.100.23';
  const ringC = ([[110, 'banned', 80], [100, 'banned', 60], [95, 'banned', 50], [60, 'active'], [20, 'active']] as [number, AccountStatus, number?][]).map(([created, status, end], i) =>
    w.addUser({ createdDaysAgo: created, plan: 'free', status, ...(end ? { endDaysAgo: end } : {}), ...(i < 3 ? { signupIp: ringCIp } : {}) }, cg),
  );
  for (const m of ringC) {
    const lastActive = Math.floor((w.todayMs - m.endMs) / DAY) + 2;
    w.login(m, Math.max(lastActive, Math.min(Math.floor((w.todayMs - m.createdMs) / DAY) - 1, lastActive + 3)), cg, { ip: ringCIp });
    if (m.status === 'banned') w.flag(m, lastActive, cg, { category: 'spam', severity: 'high', source: 'classifier', action: 'banned', onRequest: false });
  }
  link('ip', ringC);

  // --- Ban evasion in other shapes: device only; signup IP only; card with an already suspended evader.
  const be = r('ban-evasion');
  {
    const device = w.newDevice(be);
    const orig = w.addUser({ createdDaysAgo: 200, plan: 'starter', status: 'banned', endDaysAgo: 90 }, be);
    const ev = w.addUser({ createdDaysAgo: 30, plan: 'free' }, be);
    w.login(orig, 100, be, { device });
    w.login(ev, 25, be, { device });
    link('device', [orig, ev]);
    w.plant(ev.id, 'ban_evasion');
  }
  {
    const ip = '203.0.113.50';
    const orig = w.addUser({ createdDaysAgo: 365, plan: 'free', status: 'banned', endDaysAgo: 100, signupIp: ip }, be);
    const ev = w.addUser({ createdDaysAgo: 25, plan: 'free', signupIp: ip }, be);
    link('ip', [orig, ev]);
    w.plant(ev.id, 'ban_evasion');
  }
  {
    const card = w.newCard(be, 'FR');
    const orig = w.addUser({ createdDaysAgo: 250, plan: 'pro', status: 'banned', endDaysAgo: 85, country: 'FR', cards: [card] }, be);
    const ev = w.addUser({ createdDaysAgo: 50, plan: 'pro', status: 'suspended', endDaysAgo: 10, country: 'FR', cards: [card] }, be);
    w.payment(orig, 95, be, { card });
    w.payment(ev, 45, be, { card });
    link('card', [orig, ev]);
    w.plant(ev.id, 'ban_evasion');
  }

  // --- Demo: business team sharing an office IP: linked, but benign (low severity expected).
  const tg = r('team');
  const officeIp = '198.51.100.10';
  const team = [
    w.addUser({ id: DEMO.team.user_id, email: DEMO.team.email, createdDaysAgo: 330, plan: 'business', country: 'NL', verified: true }, tg),
    w.addUser({ createdDaysAgo: 320, plan: 'business', country: 'NL', verified: true }, tg),
    w.addUser({ createdDaysAgo: 200, plan: 'business', country: 'NL', verified: true }, tg),
  ];
  for (const m of team) for (const d of [40, 22, 9]) w.login(m, d, tg, { ip: officeIp });
  link('ip', team);

  // --- Impersonation: demo owner of an unverified public clone matched to a public figure.
  const ig = r('impersonation');
  const owner = w.addUser({ id: DEMO.voiceOwner.user_id, email: DEMO.voiceOwner.email, createdDaysAgo: 200, plan: 'creator', country: 'CA', activity: { activeProb: 0.5 } }, ig);
  const likeVoice = w.addVoice(owner, { id: DEMO.voiceOwner.voice_id, type: 'cloned_instant', status: 'unverified', isPublic: true, likeness: 'Avery Stone (fictional actor)', createdDaysAgo: 60, name: 'Avery narration' }, ig);
  owner.favouriteVoice = { id: likeVoice, share: 0.6 };
  w.plant(owner.id, 'impersonation');
  // A rejected professional clone, used only by its owner, with a manual impersonation flag.
  const ownerB = w.addUser({ createdDaysAgo: 300, plan: 'pro' }, ig);
  const voiceB = w.addVoice(ownerB, { type: 'cloned_professional', status: 'rejected', isPublic: false, likeness: 'Jordan Vale (fictional news anchor)', createdDaysAgo: 80 }, ig);
  ownerB.favouriteVoice = { id: voiceB, share: 0.5 };
  w.plant(ownerB.id, 'impersonation');
  // A private unverified clone used by one other account.
  const ownerC = w.addUser({ createdDaysAgo: 150, plan: 'creator' }, ig);
  const voiceC = w.addVoice(ownerC, { type: 'cloned_instant', status: 'unverified', isPublic: false, likeness: 'Riley Moss (fictional singer)', createdDaysAgo: 40 }, ig);
  ownerC.favouriteVoice = { id: voiceC, share: 0.4 };
  w.plant(ownerC.id, 'impersonation');
  // Negative control: the public figure's own, verified voice.
  const ownerN = w.addUser({ createdDaysAgo: 400, plan: 'pro', verified: true }, ig);
  w.addVoice(ownerN, { type: 'cloned_professional', status: 'verified', isPublic: true, likeness: 'Sam Quinn (fictional podcaster)', createdDaysAgo: 300 }, ig);
  w.negatives.push({ user_id: ownerN.id, description: 'verified voice with a likeness match (the person themself): not impersonation' });

  // --- Usage anomalies: demo single-day spike; two consecutive days; an API burst from a new key and IP.
  const sg = r('spikes');
  const spiky = w.addUser({ id: DEMO.spiky.user_id, email: DEMO.spiky.email, createdDaysAgo: 250, plan: 'creator', country: 'AU', activity: { daily: 6_000, perRequest: 800, activeProb: 0.8 } }, sg);
  const spikeB = w.addUser({ createdDaysAgo: 300, plan: 'pro', activity: { daily: 20_000, perRequest: 1_000, activeProb: 0.8 } }, sg);
  const spikeC = w.addUser({ createdDaysAgo: 180, plan: 'starter', activity: { daily: 8_000, perRequest: 700, activeProb: 0.8 } }, sg);
  for (const u of [spiky, spikeB, spikeC]) w.plant(u.id, 'usage_anomaly');

  // --- Moderation: demo critical sexual_minors; critical violence; high sexual_minors; many high spam.
  const mg = r('moderation');
  const flagged = w.addUser({ id: DEMO.flagged.user_id, email: DEMO.flagged.email, createdDaysAgo: 180, plan: 'starter', country: 'US', activity: { activeProb: 0.5 } }, mg);
  const modB = w.addUser({ createdDaysAgo: 240, plan: 'creator', activity: { activeProb: 0.4 } }, mg);
  const modC = w.addUser({ createdDaysAgo: 90, plan: 'free', activity: { activeProb: 0.4 } }, mg);
  const modD = w.addUser({ createdDaysAgo: 140, plan: 'starter', activity: { activeProb: 0.5 } }, mg);

  // --- Payment risk: demo (chargebacks + failures + many countries); card testing; chargebacks; many countries.
  const pg = r('payments');
  const payDemo = w.addUser({ id: DEMO.paymentRisk.user_id, email: DEMO.paymentRisk.email, createdDaysAgo: 90, plan: 'pro', country: 'US', cards: [] }, pg);
  const payB = w.addUser({ createdDaysAgo: 60, plan: 'starter', cards: [] }, pg);
  const payC = w.addUser({ createdDaysAgo: 200, plan: 'creator' }, pg);
  const payD = w.addUser({ createdDaysAgo: 120, plan: 'pro', cards: [] }, pg);
  for (const u of [payDemo, payB, payC, payD]) w.plant(u.id, 'payment_risk');
  {
    const cards = ['US', 'BR', 'NG', 'VN', 'RO'].map((c) => w.newCard(pg, c));
    payDemo.cards.push(cards[0]!);
    for (let i = 0; i < 12; i++) w.payment(payDemo, pg.int(2, 80), pg, { card: pg.pick(cards), status: 'failed' });
    for (const d of [75, 45, 15]) w.payment(payDemo, d, pg, { card: cards[0]!, status: 'chargeback' });
    for (const [i, c] of cards.entries()) w.payment(payDemo, 10 + i * 12, pg, { card: c });
  }
  {
    const cards = Array.from({ length: 6 }, (_, i) => w.newCard(pg, i % 2 ? 'US' : 'ID'));
    payB.cards.push(cards[0]!);
    for (let i = 0; i < 25; i++) w.payment(payB, pg.int(20, 22), pg, { card: cards[i % 6]!, status: 'failed', amount: 1 });
    w.payment(payB, 19, pg, { card: cards[5]! });
  }
  for (const d of [50, 20]) w.payment(payC, d, pg, { status: 'chargeback' });
  {
    const cards = ['US', 'GB', 'IN', 'MX'].map((c) => w.newCard(pg, c));
    payD.cards.push(cards[0]!);
    cards.forEach((c, i) => w.payment(payD, 15 + i * 25, pg, { card: c }));
  }

  const demoSubjects: DemoSubject[] = [];
  return {
    demoSubjects,
    afterActivity(background) {
      // Spikes on top of ordinary activity.
      w.usageDay(spiky, 5, 1_500_000, sg, {}, 5_000);
      w.usageDay(spikeB, 9, 300_000, sg, {}, 4_000);
      w.usageDay(spikeB, 8, 420_000, sg, {}, 4_000);
      const burstIp = w.newIp(sg);
      const burstKey = `key_${sg.hex(12)}`;
      w.usageDay(spikeC, 3, 900_000, sg, { source: 'api', api_key_id: burstKey, ip: burstIp, country: 'SG' }, 4_500);

      // Moderation flags on real requests.
      w.flag(flagged, 12, mg, { category: 'sexual_minors', severity: 'critical', source: 'manual', action: 'blocked' });
      w.flag(flagged, 40, mg, { category: 'hate', severity: 'medium', source: 'classifier', action: 'warned' });
      w.flag(flagged, 60, mg, { category: 'spam', severity: 'low', source: 'classifier', action: 'none' });
      w.flag(modB, 20, mg, { category: 'violence', severity: 'critical', source: 'classifier', action: 'blocked' });
      w.flag(modC, 15, mg, { category: 'sexual_minors', severity: 'high', source: 'user_report', action: 'blocked' });
      for (let i = 0; i < 8; i++) w.flag(modD, 2 + i * 4, mg, { category: i % 2 ? 'fraud' : 'spam', severity: 'high', source: 'classifier', action: 'warned' });
      for (const u of [flagged, modB, modC]) w.plant(u.id, 'moderation_escalation');
      w.flag(ownerB, 30, ig, { category: 'impersonation', severity: 'high', source: 'manual', action: 'warned', onRequest: false, voiceId: voiceB });

      // Other accounts using cloned voices (a few small requests each, spread out: no spikes).
      const users = ig.shuffle(background.filter((b) => b.status === 'active'));
      const useVoice = (u: UserCtx, voiceId: string) => {
        for (let i = 0; i < 6; i++) w.usageRow(u, w.at(ig.int(1, 28), ig), ig.int(100, 400), ig, { voice_id: voiceId });
      };
      users.slice(0, 4).forEach((u) => useVoice(u, likeVoice));
      if (users[4]) useVoice(users[4], voiceC);

      demoSubjects.push(
        demo('clean', 'A clean, verified account with regular usage: no findings.', { type: 'email', value: DEMO.clean.email }, [clean.id]),
        demo('steady', 'High but steady enterprise usage: no usage anomaly.', { type: 'email', value: DEMO.steady.email }, [steady.id]),
        demo('ban_evader', 'Created after a banned account whose card and device it shares.', { type: 'email', value: DEMO.evader.email }, [evader.id]),
        demo('banned_original', 'The banned account the evader came back from.', { type: 'email', value: DEMO.evaded.email }, [evaded.id]),
        demo('ring_member', 'Fraud ring member: shares a card and a proxy IP with banned and suspended accounts.', { type: 'email', value: DEMO.ringMember.email }, [ringA[0]!.id]),
        demo('ring_ip', 'The fraud ring\'s proxy IP: resolves to all ring accounts.', { type: 'ip', value: DEMO.ringIp }, ringA.map((m) => m.id)),
        demo('ring_card', 'The fraud ring\'s shared card.', { type: 'card_fingerprint', value: DEMO.ringCard }, ringA.map((m) => m.id)),
        demo('voice_owner', 'Owns an unverified public clone matched to a public figure, used by other accounts.', { type: 'email', value: DEMO.voiceOwner.email }, [owner.id]),
        demo('impersonated_voice', 'The cloned voice itself: resolves to its owner.', { type: 'voice_id', value: DEMO.voiceOwner.voice_id }, [owner.id]),
        demo('spiky', 'One day at ~250x the account\'s usual volume.', { type: 'email', value: DEMO.spiky.email }, [spiky.id]),
        demo('critical_flag', 'A critical sexual_minors moderation flag: must be escalated.', { type: 'email', value: DEMO.flagged.email }, [flagged.id]),
        demo('payment_risk', 'Chargebacks, many failed attempts and cards from five countries.', { type: 'email', value: DEMO.paymentRisk.email }, [payDemo.id]),
        demo('team_member', 'Business team sharing an office IP: linked accounts, low severity.', { type: 'email', value: DEMO.team.email }, [team[0]!.id]),
        demo('not_found', 'An email no account uses: the subject is not found.', { type: 'email', value: 'nobody.here@example.com' }, []),
      );
    },
  };
}

function demo(key: string, description: string, subject: DemoSubject['subject'], userIds: string[]): DemoSubject {
  // Expected findings are filled in from the computed truth once all rows exist.
  return { key, description, subject, user_ids: [...userIds].sort(), expected_findings: [], escalate: false };
}

/** Expected findings per account, derived from the planted scenarios with the contract's definitions. */
function groundTruth(w: World, options: GeneratorOptions, demoSubjects: DemoSubject[]): GroundTruth {
  const linked = new Map<string, Set<string>>();
  for (const group of w.links) {
    for (const a of group.members) {
      const set = linked.get(a) ?? new Set<string>();
      for (const b of group.members) if (b !== a) set.add(b);
      linked.set(a, set);
    }
  }
  const flagged = new Set(w.tables.fct_moderation_flags.map((f) => f.user_id as string));
  const escalated = new Set(
    w.tables.fct_moderation_flags.filter((f) => f.category === 'sexual_minors' || f.severity === 'critical').map((f) => f.user_id as string),
  );
  const impersonators = new Set(
    w.tables.dim_voices.filter((v) => v.owner_user_id && v.likeness_flag && v.verification_status !== 'verified').map((v) => v.owner_user_id as string),
  );
  const accounts: Record<string, ExpectedFinding[]> = {};
  const patterns: Record<PatternName, string[]> = {
    linked_accounts: [], ban_evasion: [], impersonation: [], usage_anomaly: [], moderation_history: [], moderation_escalation: [], payment_risk: [], account_status: [],
  };
  for (const u of w.users) {
    const found = new Set<ExpectedFinding>();
    const links = linked.get(u.id);
    if (links?.size) found.add('linked_accounts');
    if ([...(links ?? [])].some((b) => w.byId.get(b)!.status === 'banned' && w.byId.get(b)!.createdMs < u.createdMs)) found.add('ban_evasion');
    if (flagged.has(u.id)) found.add('moderation_history');
    if (impersonators.has(u.id)) found.add('impersonation');
    if (u.status === 'banned' || u.status === 'suspended') found.add('account_status');
    const plantedHere = w.planted.get(u.id) ?? new Set<PatternName>();
    if (plantedHere.has('usage_anomaly')) found.add('usage_anomaly');
    if (plantedHere.has('payment_risk')) found.add('payment_risk');
    for (const p of plantedHere) {
      if (p !== 'moderation_escalation' && !found.has(p)) throw new Error(`generator bug: planted ${p} on ${u.id} is not visible in the data`);
    }
    if (found.size) accounts[u.id] = [...found].sort();
    for (const f of found) patterns[f].push(u.id);
    if (escalated.has(u.id)) patterns.moderation_escalation.push(u.id);
  }
  for (const d of demoSubjects) {
    d.expected_findings = [...new Set(d.user_ids.flatMap((id) => accounts[id] ?? []))].sort();
    d.escalate = d.user_ids.some((id) => escalated.has(id));
  }
  return {
    generator_version: GENERATOR_VERSION,
    seed: options.seed,
    users: options.users,
    now: options.now.toISOString(),
    data_days: DATA_DAYS,
    demo_subjects: demoSubjects,
    patterns,
    accounts,
    negative_controls: w.negatives,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const NEEDS_QUOTES = /[",\n\r]/;

function csvString(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One formatter per column, chosen from the contract type once rather than per cell. */
function cellFormatter(type: string): (value: Row[string] | undefined) => string {
  if (type === 'TIMESTAMP') return (v) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? '' : csvString(String(v)));
  if (type === 'STRING') return (v) => (v === null || v === undefined ? '' : csvString(String(v)));
  return (v) => (v === null || v === undefined ? '' : String(v));
}

/** Appends rows to `<dir>/<table>.csv`, one file per contract table (header = contract columns). */
export class CsvTablesWriter {
  private readonly files: { fd: number; columns: { name: string; format: (v: Row[string] | undefined) => string }[] }[];
  private closed = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.files = TABLE_NAMES.map((table) => {
      const columns = CONTRACT[table].columns.map((c) => ({ name: c.name, format: cellFormatter(c.type) }));
      const fd = openSync(join(dir, `${table}.csv`), 'w');
      writeSync(fd, columns.map((c) => c.name).join(',') + '\n');
      return { fd, columns };
    });
  }

  append(table: TableName, rows: readonly Row[]): void {
    const { fd, columns } = this.files[TABLE_NAMES.indexOf(table)]!;
    let buffer = '';
    const cells = new Array<string>(columns.length);
    for (const row of rows) {
      for (let i = 0; i < columns.length; i++) cells[i] = columns[i]!.format(row[columns[i]!.name]);
      buffer += cells.join(',') + '\n';
      if (buffer.length > 1 << 20) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
    if (buffer) writeSync(fd, buffer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.files) closeSync(f.fd);
  }
}

/** Writes `<dir>/<table>.csv` for every contract table (header = contract columns). */
export function writeCsvFolder(dir: string, tables: GeneratedTables): void {
  const writer = new CsvTablesWriter(dir);
  try {
    for (const table of TABLE_NAMES) writer.append(table, tables[table]);
  } finally {
    writer.close();
  }
}

/**
 * Generates straight into `<dir>/<table>.csv` plus `<dir>/ground-truth.json`, streaming: memory
 * stays flat however many usage rows are asked for.
 */
export function writeWarehouseFolder(dir: string, options: GeneratorOptions): GenerationResult {
  const writer = new CsvTablesWriter(dir);
  let result: GenerationResult;
  try {
    result = generateWarehouse(options, (table, rows) => writer.append(table, rows));
  } finally {
    writer.close();
  }
  writeGroundTruth(dir, result.groundTruth);
  return result;
}

export function writeGroundTruth(dir: string, truth: GroundTruth): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ground-truth.json'), JSON.stringify(truth, null, 2) + '\n');
}
