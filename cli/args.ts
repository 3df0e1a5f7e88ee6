import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import type { SubjectType } from '../shared/investigations/model.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../shared/platform/idempotency.js';
import { STATUSES } from '../shared/investigations/state-machine.js';
import { AUDIT_USAGE } from './audit-commands.js';
import { parseWarehouseArgs, WAREHOUSE_HELP, type WarehouseCommand } from './warehouse-args.js';
import { BACKUP_HELP, parseBackupArgs, type BackupCommand } from './backup-args.js';
import { RETENTION_HELP, parseRetentionArgs, type RetentionCommand } from './retention-args.js';
import { QUALITY_HELP, parseQualityArgs, type QualityCommand } from './quality-args.js';
import { parseErrorText } from './parse-error.js';

/**
 * Command-line parsing and settings resolution, pure: argv and an env record in, a typed command or
 * a usage error out. No I/O, so every rule here is unit-tested without a server.
 */

// A runtime copy (the server's model module pulls in the agent model); the two type checks below
// make `tsc` fail if the platform adds or drops a subject type and this list does not follow.
export const SUBJECT_TYPES = ['email', 'user_id', 'voice_id', 'ip', 'card_fingerprint'] as const satisfies readonly SubjectType[];
type MissingSubjectTypes = Exclude<SubjectType, (typeof SUBJECT_TYPES)[number]>;
const subjectTypesComplete: [MissingSubjectTypes] extends [never] ? true : MissingSubjectTypes = true;
void subjectTypesComplete;

export const DEFAULT_URL = 'http://localhost:8080';
export const DEFAULT_PRINCIPAL = 'analyst@example.com';

export type CommandName = 'token' | 'investigate' | 'show' | 'list' | 'report';
const COMMANDS: readonly CommandName[] = ['token', 'investigate', 'show', 'list', 'report'];
export const REPORT_FORMATS = ['md', 'html', 'json'] as const;

/** Flags every API command accepts; resolved against the environment by `resolveSettings`. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  as?: string;
}

export type Command =
  | { kind: 'help'; topic?: CommandName }
  | { kind: 'warehouse'; command: WarehouseCommand }
  | { kind: 'backup'; command: BackupCommand }
  | { kind: 'retention'; command: RetentionCommand }
  | { kind: 'quality'; command: QualityCommand }
  | { kind: 'token'; email: string; connection: ConnectionFlags }
  | {
      kind: 'investigate';
      /** Absent when the question names the subject (the API extracts it). */
      subject?: { type: (typeof SUBJECT_TYPES)[number]; value: string };
      question?: string;
      windowDays?: number;
      restricted: boolean;
      idempotencyKey?: string;
      json: boolean;
      connection: ConnectionFlags;
    }
  | { kind: 'show'; id: string; json: boolean; connection: ConnectionFlags }
  | { kind: 'report'; id: string; format: (typeof REPORT_FORMATS)[number]; out?: string; connection: ConnectionFlags }
  | {
      kind: 'list';
      query: { status?: string; created_by?: string; assignee?: string; page_size?: number; page_token?: string };
      all: boolean;
      json: boolean;
      connection: ConnectionFlags;
    };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; topic?: CommandName; usage?: string };

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  as: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  token: { url: CONNECTION_OPTIONS.url, help: CONNECTION_OPTIONS.help },
  investigate: {
    ...CONNECTION_OPTIONS,
    question: { type: 'string', short: 'q' },
    'window-days': { type: 'string' },
    restricted: { type: 'boolean' },
    'idempotency-key': { type: 'string' },
    json: { type: 'boolean' },
  },
  show: { ...CONNECTION_OPTIONS, json: { type: 'boolean' } },
  report: { ...CONNECTION_OPTIONS, format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' } },
  list: {
    ...CONNECTION_OPTIONS,
    status: { type: 'string' },
    'created-by': { type: 'string' },
    assignee: { type: 'string' },
    'page-size': { type: 'string' },
    'page-token': { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const;

const POSITIONALS: Record<CommandName, string> = { token: '<email>', investigate: '<type>:<value>', show: '<id>', list: '', report: '<id>' };

const email = z.email();

export function parseCli(argv: readonly string[]): ParseResult {
  const [first, ...rest] = argv;
  if (first === undefined) return { ok: false, error: 'missing command' };
  // Local-data tools with their own sub-commands (cli/warehouse-args.ts).
  if (first === 'warehouse' || (first === 'help' && rest[0] === 'warehouse')) {
    const warehouse = parseWarehouseArgs(first === 'warehouse' ? rest : ['help']);
    return warehouse.ok ? { ok: true, command: { kind: 'warehouse', command: warehouse.command } } : { ok: false, error: warehouse.error, usage: `usage: ${WAREHOUSE_HELP}\n` };
  }
  if (first === 'backup' || (first === 'help' && rest[0] === 'backup')) {
    const backup = parseBackupArgs(first === 'backup' ? rest : ['help']);
    return backup.ok ? { ok: true, command: { kind: 'backup', command: backup.command } } : { ok: false, error: backup.error, usage: `usage: ${BACKUP_HELP}\n` };
  }
  if (first === 'retention' || (first === 'help' && rest[0] === 'retention')) {
    const retention = parseRetentionArgs(first === 'retention' ? rest : ['help']);
    return retention.ok ? { ok: true, command: { kind: 'retention', command: retention.command } } : { ok: false, error: retention.error, usage: `usage: ${RETENTION_HELP}\n` };
  }
  if (first === 'quality' || (first === 'help' && rest[0] === 'quality')) {
    const quality = parseQualityArgs(first === 'quality' ? rest : ['help']);
    return quality.ok ? { ok: true, command: { kind: 'quality', command: quality.command } } : { ok: false, error: quality.error, usage: `usage: ${QUALITY_HELP}\n` };
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = rest[0];
    return { ok: true, command: { kind: 'help', ...(isCommand(topic) ? { topic } : {}) } };
  }
  if (!isCommand(first)) return { ok: false, error: `unknown command "${first}"` };

  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  // Widened so the per-command option sets share one code path; none of them is `multiple`.
  const options: ParseArgsConfig['options'] = OPTIONS[first];
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (error) {
    return { ok: false, error: parseArgsMessage(error), topic: first };
  }
  const { values, positionals } = parsed;
  if (values.help) return { ok: true, command: { kind: 'help', topic: first } };

  // `investigate` may take only --question when the question names the subject.
  const expected = first === 'list' || (first === 'investigate' && positionals.length === 0 && values.question !== undefined) ? 0 : 1;
  if (positionals.length < expected) return { ok: false, error: `${first}: missing ${POSITIONALS[first]}`, topic: first };
  if (positionals.length > expected) {
    const extra = positionals.slice(expected).map((p) => `"${p}"`).join(' ');
    return { ok: false, error: `${first}: unexpected argument ${extra} (quote values that contain spaces)`, topic: first };
  }

  const connection = connectionFlags(values);
  if (connection.as !== undefined && !email.safeParse(connection.as).success) {
    return { ok: false, error: `--as must be an email address, got "${connection.as}"`, topic: first };
  }
  const arg = positionals[0] ?? '';
  const flag = (name: string) => stringValue(values[name]);

  switch (first) {
    case 'token': {
      if (!email.safeParse(arg).success) return { ok: false, error: `token: "${arg}" is not an email address`, topic: first };
      return { ok: true, command: { kind: 'token', email: arg, connection: { ...(connection.url ? { url: connection.url } : {}) } } };
    }
    case 'investigate': {
      const subject = positionals.length === 0 ? null : parseSubject(arg);
      if (subject && !subject.ok) return { ok: false, error: subject.error, topic: first };
      const windowDays = flag('window-days');
      const days = windowDays === undefined ? undefined : positiveInt(windowDays);
      if (days === null) return { ok: false, error: `--window-days must be a whole number of days, got "${windowDays}"`, topic: first };
      const question = flag('question')?.trim();
      if (question === '') return { ok: false, error: '--question must not be empty', topic: first };
      const key = flag('idempotency-key');
      if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
        return { ok: false, error: '--idempotency-key must be 1-255 visible ASCII characters', topic: first };
      }
      return {
        ok: true,
        command: {
          kind: 'investigate',
          ...(subject ? { subject: subject.subject } : {}),
          ...(question !== undefined ? { question } : {}),
          ...(days !== undefined ? { windowDays: days } : {}),
          restricted: values.restricted === true,
          ...(key !== undefined ? { idempotencyKey: key } : {}),
          json: values.json === true,
          connection,
        },
      };
    }
    case 'show': {
      if (arg.trim() === '') return { ok: false, error: 'show: missing <id>', topic: first };
      return { ok: true, command: { kind: 'show', id: arg.trim(), json: values.json === true, connection } };
    }
    case 'report': {
      if (arg.trim() === '') return { ok: false, error: 'report: missing <id>', topic: first };
      const format = flag('format') ?? 'md';
      if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
        return { ok: false, error: `--format must be one of ${REPORT_FORMATS.join(', ')}, got "${format}"`, topic: first };
      }
      const out = flag('out');
      if (out !== undefined && out.trim() === '') return { ok: false, error: '--out must name a file', topic: first };
      return { ok: true, command: { kind: 'report', id: arg.trim(), format: format as (typeof REPORT_FORMATS)[number], ...(out !== undefined ? { out } : {}), connection } };
    }
    case 'list': {
      const status = flag('status');
      if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
        return { ok: false, error: `--status must be one of ${STATUSES.join(', ')}, got "${status}"`, topic: first };
      }
      const pageSizeText = flag('page-size');
      const pageSize = pageSizeText === undefined ? undefined : positiveInt(pageSizeText);
      if (pageSize === null) return { ok: false, error: `--page-size must be a positive whole number, got "${pageSizeText}"`, topic: first };
      for (const name of ['created-by', 'assignee']) {
        const value = flag(name);
        if (value !== undefined && !email.safeParse(value).success) {
          return { ok: false, error: `--${name} must be an email address, got "${value}"`, topic: first };
        }
      }
      const all = values.all === true;
      const pageToken = flag('page-token');
      const query = {
        ...(status !== undefined ? { status } : {}),
        ...(flag('created-by') !== undefined ? { created_by: flag('created-by') } : {}),
        ...(flag('assignee') !== undefined ? { assignee: flag('assignee') } : {}),
        ...(pageSize !== undefined ? { page_size: pageSize } : {}),
        ...(pageToken !== undefined ? { page_token: pageToken } : {}),
      };
      return { ok: true, command: { kind: 'list', query, all, json: values.json === true, connection } };
    }
  }
}

/** `<type>:<value>`, split on the first colon only: IPv6 addresses and some ids contain colons. */
export function parseSubject(
  text: string,
): { ok: true; subject: { type: (typeof SUBJECT_TYPES)[number]; value: string } } | { ok: false; error: string } {
  const colon = text.indexOf(':');
  const types = SUBJECT_TYPES.join(', ');
  if (colon < 0) {
    const hint = text.includes('@') ? ` (did you mean email:${text}?)` : '';
    return { ok: false, error: `subject must be <type>:<value> with type one of ${types}${hint}` };
  }
  const type = text.slice(0, colon).trim().toLowerCase();
  const value = text.slice(colon + 1).trim();
  if (!(SUBJECT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, error: `unknown subject type "${text.slice(0, colon)}"; use one of ${types}` };
  }
  if (value === '') return { ok: false, error: `subject ${type}: the value after the colon is empty` };
  return { ok: true, subject: { type: type as (typeof SUBJECT_TYPES)[number], value } };
}

export interface Settings {
  url: string;
  /** An explicit token (flag or TSI_TOKEN); null means "ask the local stack for one". */
  token: string | null;
  principal: string;
  principalSource: '--as' | 'TSI_AS' | 'default';
}

const EnvSchema = z.object({
  TSI_URL: z.string().optional(),
  TSI_TOKEN: z.string().optional(),
  TSI_AS: z.string().optional(),
});

/** Flags win over the environment, the environment over defaults. Empty variables count as unset. */
export function resolveSettings(
  flags: ConnectionFlags,
  env: Record<string, string | undefined>,
): { ok: true; settings: Settings } | { ok: false; error: string } {
  const parsedEnv = EnvSchema.parse(env);
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  const rawUrl = nonEmpty(flags.url) ?? nonEmpty(parsedEnv.TSI_URL) ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, error: `platform URL "${rawUrl}" is not a URL (set TSI_URL or --url, e.g. ${DEFAULT_URL})` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `platform URL "${rawUrl}" must start with http:// or https://` };
  }
  const envAs = nonEmpty(parsedEnv.TSI_AS);
  if (flags.as === undefined && envAs !== undefined && !email.safeParse(envAs).success) {
    return { ok: false, error: `TSI_AS must be an email address, got "${envAs}"` };
  }
  const principal = flags.as ?? envAs ?? DEFAULT_PRINCIPAL;
  const principalSource = flags.as !== undefined ? '--as' : envAs !== undefined ? 'TSI_AS' : 'default';
  const token = nonEmpty(flags.token) ?? nonEmpty(parsedEnv.TSI_TOKEN) ?? null;
  return { ok: true, settings: { url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, token, principal, principalSource } };
}

const COMMON = `Connection (all commands but token):
  --url URL          platform API (env TSI_URL, default ${DEFAULT_URL})
  --token T          bearer token (env TSI_TOKEN); on Google Cloud: gcloud auth print-identity-token
  --as EMAIL         local stack only: act as this principal (env TSI_AS, default ${DEFAULT_PRINCIPAL})`;

const HELP: Record<CommandName, string> = {
  token: `tsi token <email> [--url URL]
  Print a token for <email> from the local stack, e.g.  TOKEN=$(npx tsi token analyst@example.com)`,
  investigate: `tsi investigate <type>:<value> [--question "..."] [--window-days N] [--restricted]
                [--idempotency-key K] [--json]
  tsi investigate --question "who is using voice voice_demo_likeness"
  Start an investigation, show each step as it completes, then the result.
  <type> is one of ${SUBJECT_TYPES.join(', ')}; e.g. email:john@example.com, ip:2001:db8::1
  A question focuses the plan ("did usage spike last week", "accounts sharing a card with x@y.com");
  without <type>:<value> the question must name the subject.
  Exit code 0 when it completes, 1 when it fails or is cancelled. Ctrl-C stops waiting, not the work.`,
  show: `tsi show <id> [--json]
  Show an investigation: steps, findings, risk score, recommended action.`,
  report: `tsi report <id> [--format md|html|json] [--out FILE]
  The investigation's report: summary, risk, findings with evidence, usage timeline, linked accounts
  and every query. Markdown to the terminal by default; --out writes it to FILE (HTML is self-contained).`,
  list: `tsi list [--status S] [--created-by EMAIL] [--assignee EMAIL] [--page-size N] [--page-token T] [--all] [--json]
  List investigations, newest first. --all follows every page.
  S is one of ${STATUSES.join(', ')}.`,
};

export function usageText(topic?: CommandName): string {
  if (topic) return `usage: ${HELP[topic]}\n\n${topic === 'token' ? '' : `${COMMON}\n`}`.replace(/\n+$/, '\n');
  return [
    'tsi — Trust & Safety investigations from the command line',
    '',
    'usage: tsi <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${HELP[c]}\n`),
    'Local data (no API; works on TSI_DATA_DIR, default .local):',
    `${WAREHOUSE_HELP.replace(/^/gm, '  ')}\n`,
    `${BACKUP_HELP.replace(/^/gm, '  ')}\n`,
    `${QUALITY_HELP.replace(/^/gm, '  ')}\n`,
    `  ${AUDIT_USAGE}\n`,
    COMMON,
    '',
    '--json prints the API response as JSON. `tsi <command> --help` shows one command.',
    '',
  ].join('\n');
}

function isCommand(value: string | undefined): value is CommandName {
  return value !== undefined && (COMMANDS as readonly string[]).includes(value);
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function connectionFlags(values: Values): ConnectionFlags {
  const out: ConnectionFlags = {};
  for (const key of ['url', 'token', 'as'] as const) {
    const v = stringValue(values[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function stringValue(value: Values[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function positiveInt(text: string): number | null {
  return /^\d{1,9}$/.test(text.trim()) && Number(text) > 0 ? Number(text) : null;
}

/** node:util's messages mention internals ("parseArgs"); keep the part a user can act on. */
function parseArgsMessage(error: unknown): string {
  return parseErrorText(error).replace(/^.*?(Unknown option|Option)/s, '$1');
}
