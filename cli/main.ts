import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { TERMINAL } from '../shared/investigations/state-machine.js';
import { newId } from '../shared/platform/ids.js';
import { parseCli, resolveSettings, usageText, type Command, type Settings } from './args.js';
import { runAuditCommand } from './audit-commands.js';
import { ApiError, TsiClient, UnexpectedResponseError, UnreachableError, type CreateInvestigationRequest } from './client.js';
import {
  clean,
  createStyle,
  renderInvestigation,
  renderList,
  renderNextPageHint,
  renderProblem,
  renderStatusLine,
  renderStepLine,
  useColour,
  type Style,
} from './render.js';
import type { Investigation, InvestigationSummary, Step } from './schemas.js';

/**
 * The `tsi` command: the CLI's composition root. `run` does the work against injected streams, env
 * and fetch (so it can be driven in tests); `main` binds it to the real process and Ctrl-C.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** Aborted on Ctrl-C: stops waiting, never cancels the investigation. */
  signal?: AbortSignal;
  pollIntervalMs?: number;
  /** Waits between polls and retries; rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  newIdempotencyKey?: () => string;
}

/** Statuses of a step that is still to run or running; anything else is finished and gets its line. */
const UNFINISHED_STEP = new Set(['planned', 'pending', 'queued', 'running', 'in_progress']);
/** Consecutive failed polls tolerated (a restarting local stack) before giving up on waiting. */
const MAX_POLL_FAILURES = 10;
const MAX_PAGES = 10_000;

class UsageProblem extends Error {}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  // Offline commands on local files: no server, no token.
  if (argv[0] === 'audit') return runAuditCommand(argv.slice(1), io);
  const parsed = parseCli(argv);
  if (!parsed.ok) {
    io.stderr.write(`tsi: ${parsed.error}\n\n${parsed.usage ?? usageText(parsed.topic)}`);
    return EXIT.usage;
  }
  const command = parsed.command;
  if (command.kind === 'help') {
    io.stdout.write(usageText(command.topic));
    return EXIT.ok;
  }
  // Each local-data command's module is loaded when it runs: help, the parser and the API commands
  // never load Firestore, DuckDB or the query guard.
  if (command.kind === 'backup') {
    try {
      const { runBackupCommand } = await import('./backup-commands.js');
      return await runBackupCommand(command.command, io);
    } catch (error) {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
  }
  if (command.kind === 'retention') {
    try {
      const { runRetentionCommand } = await import('./compliance-commands.js');
      return await runRetentionCommand(command.command, io);
    } catch (error) {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
  }
  if (command.kind === 'quality') {
    try {
      const { runQualityCommand } = await import('./quality-commands.js');
      return await runQualityCommand(command.command, io);
    } catch (error) {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
  }
  if (command.kind === 'warehouse') {
    try {
      const { runWarehouseCommand } = await import('./warehouse-commands.js');
      return await runWarehouseCommand(command.command, io);
    } catch (error) {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
  }
  const resolved = resolveSettings(command.connection, io.env);
  if (!resolved.ok) {
    io.stderr.write(`tsi: ${resolved.error}\n`);
    return EXIT.usage;
  }
  const settings = resolved.settings;
  const sleep = io.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const client = new TsiClient({
    baseUrl: settings.url,
    fetch: io.fetch,
    signal: io.signal,
    sleep: (ms) => sleep(ms, io.signal),
  });
  const ctx: Context = {
    io,
    settings,
    client,
    sleep,
    out: createStyle(useColour(io.stdout.isTTY, io.env)),
    err: createStyle(useColour(io.stderr.isTTY, io.env)),
  };
  try {
    switch (command.kind) {
      case 'token':
        return await tokenCommand(ctx, command.email);
      case 'investigate':
        return await investigateCommand(ctx, command);
      case 'show':
        return await showCommand(ctx, command);
      case 'list':
        return await listCommand(ctx, command);
      case 'report':
        return await reportCommand(ctx, command);
    }
  } catch (error) {
    return explain(error, ctx);
  }
}

interface Context {
  io: Io;
  settings: Settings;
  client: TsiClient;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  out: Style;
  err: Style;
}

function notLocalMessage(url: string): string {
  return `the platform at ${url} is not in local mode; tokens come from Google there (gcloud auth print-identity-token)`;
}

async function tokenCommand(ctx: Context, email: string): Promise<number> {
  try {
    const { token } = await ctx.client.localToken(email);
    ctx.io.stdout.write(`${token}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      ctx.io.stderr.write(`error: ${notLocalMessage(ctx.settings.url)}\n`);
      return EXIT.usage;
    }
    if (error instanceof ApiError && error.status === 403) {
      ctx.io.stderr.write(renderProblem(error.problem));
      return EXIT.usage;
    }
    throw error;
  }
}

/** An explicit token wins; otherwise a local token for the chosen principal, if the stack offers them. */
async function authenticated(ctx: Context): Promise<TsiClient> {
  const { settings, io } = ctx;
  if (settings.token) return ctx.client.withToken(settings.token);
  try {
    const { token } = await ctx.client.localToken(settings.principal);
    const how = settings.principalSource === 'default' ? 'the default; choose another with --as or TSI_AS' : `from ${settings.principalSource}`;
    io.stderr.write(`tsi: acting as ${settings.principal} (${how})\n`);
    return ctx.client.withToken(token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new UsageProblem(`error: no token: pass --token or set TSI_TOKEN; ${notLocalMessage(settings.url)}\n`);
    }
    if (error instanceof ApiError && error.status === 403) {
      throw new UsageProblem(renderProblem(error.problem) + `  (principal ${settings.principal} ${settings.principalSource === 'default' ? 'is the default' : `came from ${settings.principalSource}`})\n`);
    }
    throw error;
  }
}

type InvestigateCommand = Extract<Command, { kind: 'investigate' }>;

async function investigateCommand(ctx: Context, command: InvestigateCommand): Promise<number> {
  const { io } = ctx;
  const client = await authenticated(ctx);
  const key = command.idempotencyKey ?? io.newIdempotencyKey?.() ?? newId('idem');
  const request: CreateInvestigationRequest = {
    ...(command.subject ? { subject: command.subject } : {}),
    ...(command.question !== undefined ? { question: command.question } : {}),
    ...(command.windowDays !== undefined ? { window_days: command.windowDays } : {}),
    ...(command.restricted ? { sensitivity: 'restricted' } : {}),
  };
  let id: string;
  try {
    id = (await client.createInvestigation(request, key)).id;
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr.write(`\ninterrupted before the platform answered. To retry without risking a duplicate, run the same command with --idempotency-key ${key}\n`);
      return EXIT.interrupted;
    }
    throw error;
  }

  // With --json, stdout carries only the final document; progress goes to stderr.
  const progress = command.json ? io.stderr : io.stdout;
  const style = command.json ? ctx.err : ctx.out;
  progress.write(`${style.bold(`Investigation ${id}`)} ${style.dim(`(tsi show ${id})`)}\n`);
  let investigation: Investigation;
  try {
    investigation = await follow(ctx, client, id, (line) => progress.write(`${line}\n`), style);
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr.write(`\nstopped waiting; investigation ${id} carries on at the platform.\nSee it later with: tsi show ${id}\n`);
      return EXIT.interrupted;
    }
    throw error;
  }
  if (command.json) io.stdout.write(`${JSON.stringify(investigation, null, 2)}\n`);
  else io.stdout.write(`\n${renderInvestigation(investigation, ctx.out, { steps: false })}`);
  return investigation.status === 'failed' || investigation.status === 'cancelled' ? EXIT.failed : EXIT.ok;
}

/** Polls until the investigation is terminal, printing status changes and each step once it finishes. */
async function follow(ctx: Context, client: TsiClient, id: string, print: (line: string) => void, style: Style): Promise<Investigation> {
  const printed = new Set<string>();
  // A re-run after a lost lease records steps again with a new start time; those get their own line.
  const stepKey = (s: Step) => `${s.index}|${s.started_at ?? ''}`;
  let lastStatus: string | null = null;
  let failures = 0;
  for (;;) {
    let investigation: Investigation;
    try {
      investigation = await client.getInvestigation(id);
      failures = 0;
    } catch (error) {
      const transient = error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500);
      if (!transient || ctx.io.signal?.aborted || ++failures > MAX_POLL_FAILURES) throw error;
      if (failures === 1) print(style.yellow('… the platform is not answering; still waiting'));
      await ctx.sleep(ctx.io.pollIntervalMs ?? 400, ctx.io.signal);
      continue;
    }
    const terminal = (TERMINAL as readonly string[]).includes(investigation.status);
    if (investigation.status !== lastStatus && !terminal) print(renderStatusLine(investigation.status, style));
    lastStatus = investigation.status;
    for (const step of [...investigation.steps].sort((a, b) => a.index - b.index)) {
      if (printed.has(stepKey(step)) || (!terminal && UNFINISHED_STEP.has(step.status))) continue;
      printed.add(stepKey(step));
      print(renderStepLine(step, style));
    }
    if (terminal) return investigation;
    await ctx.sleep(ctx.io.pollIntervalMs ?? 400, ctx.io.signal);
  }
}

async function showCommand(ctx: Context, command: Extract<Command, { kind: 'show' }>): Promise<number> {
  const client = await authenticated(ctx);
  const investigation = await client.getInvestigation(command.id);
  ctx.io.stdout.write(command.json ? `${JSON.stringify(investigation, null, 2)}\n` : renderInvestigation(investigation, ctx.out));
  return EXIT.ok;
}

/** Markdown to the terminal by default; with --out the report goes to a file (HTML opens in a browser as is). */
async function reportCommand(ctx: Context, command: Extract<Command, { kind: 'report' }>): Promise<number> {
  const client = await authenticated(ctx);
  const text = await client.getReport(command.id, command.format);
  if (command.out === undefined) {
    ctx.io.stdout.write(clean(text.endsWith('\n') ? text : `${text}\n`));
    return EXIT.ok;
  }
  const path = resolve(command.out);
  await writeFile(path, text, { encoding: 'utf8', mode: 0o600 });
  ctx.io.stderr.write(`tsi: wrote the ${command.format} report of ${command.id} to ${path}\n`);
  return EXIT.ok;
}

async function listCommand(ctx: Context, command: Extract<Command, { kind: 'list' }>): Promise<number> {
  const { io } = ctx;
  const client = await authenticated(ctx);
  if (!command.all) {
    const page = await client.listInvestigations(command.query);
    if (command.json) {
      io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout.write(renderList(page.items, ctx.out));
    if (page.next_page_token) {
      const { page_token: _, ...filters } = command.query;
      io.stdout.write(`\n${renderNextPageHint(page.next_page_token, filters)}`);
    }
    return EXIT.ok;
  }
  const items: InvestigationSummary[] = [];
  const seen = new Set<string>();
  let token = command.query.page_token;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await client.listInvestigations({ ...command.query, ...(token ? { page_token: token } : {}) });
    items.push(...page.items);
    token = page.next_page_token ?? undefined;
    if (!token) break;
    // A server that hands back a token twice would keep us here forever.
    if (seen.has(token)) throw new UnexpectedResponseError('the platform returned the same page token twice');
    seen.add(token);
  }
  io.stdout.write(command.json ? `${JSON.stringify({ items, next_page_token: null }, null, 2)}\n` : renderList(items, ctx.out));
  return EXIT.ok;
}

/** The one place that turns a failure into a message and an exit code. */
function explain(error: unknown, ctx: Context): number {
  const { io, settings } = ctx;
  if (io.signal?.aborted) {
    io.stderr.write('\ninterrupted\n');
    return EXIT.interrupted;
  }
  if (error instanceof UsageProblem) {
    io.stderr.write(error.message);
    return EXIT.usage;
  }
  if (error instanceof ApiError) {
    io.stderr.write(renderProblem(error.problem));
    if (error.status === 401) {
      io.stderr.write('  (tokens expire: get a fresh one with `tsi token <email>` locally, `gcloud auth print-identity-token` on Google Cloud)\n');
    }
    return EXIT.failed;
  }
  if (error instanceof UnreachableError) {
    if (error.code === 'ECONNREFUSED') io.stderr.write(`error: cannot reach the platform at ${settings.url} — is \`npm start\` running?\n`);
    else if (error.code === 'TIMEOUT') io.stderr.write(`error: the platform at ${settings.url} did not answer in time\n`);
    else io.stderr.write(`error: cannot reach the platform at ${settings.url}${error.code ? ` (${error.code})` : ''}\n`);
    return EXIT.failed;
  }
  if (error instanceof UnexpectedResponseError) {
    io.stderr.write(`error: unexpected response from the platform at ${settings.url}: ${error.message}\n`);
    return EXIT.failed;
  }
  io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failed;
}

/** Binds `run` to this process: real streams and environment, Ctrl-C, a closed pipe. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  // Only the first Ctrl-C is ours; a second one gets Node's default and ends the process.
  process.once('SIGINT', onInterrupt);
  // `tsi list | head` closes stdout early; that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    return await run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

// Also runnable directly: `npx tsx cli/main.ts list`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
