import { z } from 'zod';
import type { Logger } from '../../platform/logger.js';
import { redactText } from '../../platform/redact.js';
import type { SubjectType } from '../model.js';
import { planInvestigation, PlanRequestSchema, STEP_CHECKS, uncheckedPatterns, type Plan, type PlannedStep, type Planner, type PlanRequest } from '../planner.js';
import { mentions, readQuestion } from '../question.js';
import { ACCOUNT_STEPS, EXTRA_STEPS, RESOLVE_STEPS, type StepDefinition } from '../steps.js';
import { requestToolCalls, type ChatRequest, type ChatTool, type ToolCall } from './chat.js';

/**
 * The LLM planner: asks an OpenAI-compatible chat-completions model to choose the investigation's
 * steps by calling tools, one tool per typed step (its JSON schema generated from the step's zod
 * arguments). The model can only pick steps and their arguments; it never writes SQL and never sees
 * data. Its answer is validated as strictly as any other input, and anything wrong with it — an
 * HTTP error, a timeout, non-JSON, no tool calls, an unknown tool, invalid arguments, a step that
 * needs accounts before the subject is resolved, a repeated step, too many steps — falls back to
 * the deterministic plan, with the reason recorded in the result (`plan.fallback_reason`).
 *
 * Personal data: the model gets the subject TYPE and the question with the subject's value
 * replaced by the placeholder `<subject>` (other emails, IPs and card fingerprints in the question
 * become `[PII]`). It passes `<subject>` back where a step needs the value (the resolve step's
 * `value`, voice_users' `voice_id`), and the placeholder is substituted only after the call was
 * accepted. A model that puts anything else in the resolve step's `value` is refused.
 */
export const SUBJECT_PLACEHOLDER = '<subject>';
/** Resolution + every account step once: more than this is not a plan. */
export const MAX_LLM_STEPS = 1 + ACCOUNT_STEPS.length + EXTRA_STEPS.length;
const REASON_MAX = 200;
/** Subject types whose values are personal data (contract PII columns). */
const PII_TYPES: readonly SubjectType[] = ['email', 'ip', 'card_fingerprint'];

export interface LlmPlannerOptions {
  endpoint: string;
  model: string;
  /** Read on every plan (from the secret store); never logged or stored. */
  apiKey: () => Promise<string>;
  timeoutMs: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

const ACCOUNT_TOOLS: StepDefinition<any, any>[] = [...ACCOUNT_STEPS, ...EXTRA_STEPS];

function argsShape(def: StepDefinition<any, any>): Record<string, unknown> {
  return (def.args as unknown as z.ZodObject).shape ?? {};
}

function toolFor(def: StepDefinition<any, any>, resolve: boolean): ChatTool {
  const withReason = (def.args as unknown as z.ZodObject).extend({
    reason: z.string().max(REASON_MAX).optional().describe('Why this step answers the question (a few words, no personal data).'),
  });
  const { $schema: _schema, ...parameters } = z.toJSONSchema(withReason, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (resolve) {
    const props = parameters.properties as Record<string, Record<string, unknown>>;
    props.value = { type: 'string', const: SUBJECT_PLACEHOLDER, description: `Always "${SUBJECT_PLACEHOLDER}": the subject value is substituted after planning.` };
  }
  if (def.name === 'voice_users') {
    const props = parameters.properties as Record<string, Record<string, unknown>>;
    props.voice_id = { ...props.voice_id, description: `A voice id named in the question, or "${SUBJECT_PLACEHOLDER}" when the subject is the voice; omit for the voices the accounts own.` };
  }
  return { type: 'function', function: { name: def.name, description: def.description, parameters } };
}

/** The tools offered: the resolve step of this subject type, then every account step. */
export function toolsFor(subjectType: SubjectType): ChatTool[] {
  return [toolFor(RESOLVE_STEPS[subjectType], true), ...ACCOUNT_TOOLS.map((d) => toolFor(d, false))];
}

/** The question as the model sees it: the subject's value as the placeholder, other personal data masked. */
export function promptQuestion(question: string, subject: { type: SubjectType; value: string }): string {
  let text = question;
  const found = mentions(question).sort((a, b) => b.at - a.at);
  // From the end backwards, so replacing one mention does not move the ones before it.
  for (const m of found) {
    const same = m.type === subject.type && m.value.toLowerCase() === subject.value.toLowerCase();
    if (!same && !PII_TYPES.includes(m.type)) continue;
    const start = text.toLowerCase().indexOf(m.value.toLowerCase(), m.at);
    if (start < 0) continue;
    text = text.slice(0, start) + (same ? SUBJECT_PLACEHOLDER : '[PII]') + text.slice(start + m.value.length);
  }
  return redactText(text);
}

export function buildChatRequest(model: string, request: PlanRequest): ChatRequest {
  const { subject, question, windowDays } = request;
  const system = [
    'You plan a Trust & Safety investigation of a text-to-speech platform account by calling tools.',
    'Each tool is one read-only warehouse query. Call the tools that answer the analyst, in order, in one reply.',
    `The subject is a ${subject.type}. First call resolve_${subject.type} with value "${SUBJECT_PLACEHOLDER}"; every other tool works on the accounts it finds.`,
    `Call each tool at most once, at most ${MAX_LLM_STEPS} calls. Usage windows are in days (the analyst asked for ${windowDays}); history lookbacks at most 365.`,
    'With no specific question, call every tool: an unchecked pattern cannot be told apart from a clean account.',
    'Give each call a short "reason". Never invent identifiers.',
  ].join('\n');
  const user = question ? `Question: ${promptQuestion(question, subject)}` : 'No question: run a full investigation of the subject.';
  return {
    model,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    tools: toolsFor(subject.type),
    tool_choice: 'required',
    parallel_tool_calls: true,
    temperature: 0,
  };
}

export type Validation = { ok: true; steps: PlannedStep[] } | { ok: false; reason: string };

const safeName = (name: string) => (/^[A-Za-z0-9_]{1,64}$/.test(name) ? name : '(unprintable name)');

/** Checks the model's tool calls and turns them into a plan, or says why they cannot be used. */
export function validateToolCalls(calls: readonly ToolCall[], request: PlanRequest): Validation {
  const { subject } = request;
  const resolve = RESOLVE_STEPS[subject.type];
  if (calls.length === 0) return { ok: false, reason: 'the model called no tool' };
  if (calls.length > MAX_LLM_STEPS) return { ok: false, reason: `the model called ${calls.length} tools (at most ${MAX_LLM_STEPS})` };
  const byName = new Map<string, StepDefinition<any, any>>([[resolve.name, resolve], ...ACCOUNT_TOOLS.map((d) => [d.name, d] as const)]);
  const seen = new Set<string>();
  const steps: PlannedStep[] = [];
  for (const [i, call] of calls.entries()) {
    const def = byName.get(call.name);
    if (!def) return { ok: false, reason: `unknown tool "${safeName(call.name)}"` };
    if (i === 0 && def !== resolve) return { ok: false, reason: `"${def.name}" needs resolved accounts but came before ${resolve.name}` };
    if (i > 0 && def === resolve) return { ok: false, reason: `${resolve.name} called again` };
    if (seen.has(def.name)) return { ok: false, reason: `"${def.name}" called twice` };
    seen.add(def.name);
    let raw: unknown;
    try {
      raw = JSON.parse(call.arguments || '{}');
    } catch {
      return { ok: false, reason: `the arguments of "${def.name}" are not JSON` };
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: `the arguments of "${def.name}" are not an object` };
    const { reason, ...args } = raw as Record<string, unknown>;
    const unknownKeys = Object.keys(args).filter((k) => !(k in argsShape(def)));
    if (unknownKeys.length) return { ok: false, reason: `"${def.name}" got unknown arguments ${unknownKeys.map(safeName).join(', ')}` };
    if (def === resolve) {
      if (args.value !== SUBJECT_PLACEHOLDER) return { ok: false, reason: `${resolve.name} must be called with value "${SUBJECT_PLACEHOLDER}"` };
      args.value = subject.value;
    }
    if (def.name === 'voice_users' && args.voice_id === SUBJECT_PLACEHOLDER) args.voice_id = subject.value;
    const parsed = def.args.safeParse(args);
    if (!parsed.success) return { ok: false, reason: `invalid arguments for "${def.name}": ${parsed.error.issues.map((x) => x.path.join('.') || '(root)').join(', ')}` };
    if (typeof (args as { lookback_days?: unknown }).lookback_days === 'number' && (args.lookback_days as number) > 365) {
      return { ok: false, reason: `"${def.name}" asked for more than 365 days of history` };
    }
    const why = typeof reason === 'string' && reason.trim() ? redactText(reason.trim()).slice(0, REASON_MAX) : 'chosen by the LLM planner';
    steps.push({ index: i + 1, name: def.name, description: def.description, args: parsed.data as Record<string, unknown>, reason: `LLM: ${why}`, checks: STEP_CHECKS[def.name] ?? [] });
  }
  if (steps.length < 2) return { ok: false, reason: 'the plan resolves the subject but checks nothing' };
  return { ok: true, steps };
}

export function createLlmPlanner(options: LlmPlannerOptions): Planner {
  const log = options.logger?.child({ component: 'llm-planner' });
  return {
    async plan(input: PlanRequest): Promise<Plan> {
      const request = PlanRequestSchema.parse(input);
      const fallback = (reason: string): Plan => {
        log?.warn('LLM plan not used; falling back to the deterministic plan', { reason });
        return { ...planInvestigation(request), fallback_reason: reason, model: options.model };
      };
      let apiKey: string;
      try {
        apiKey = await options.apiKey();
      } catch {
        return fallback('the API key secret could not be read');
      }
      let calls: ToolCall[];
      try {
        calls = await requestToolCalls(
          { endpoint: options.endpoint, apiKey, timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) },
          buildChatRequest(options.model, request),
        );
      } catch (error) {
        return fallback(error instanceof Error && error.name === 'LlmCallError' ? error.message : 'the call failed');
      }
      const checked = validateToolCalls(calls, request);
      if (!checked.ok) return fallback(checked.reason);
      const covered = uncheckedPatterns(checked.steps).length === 0;
      log?.info('LLM plan accepted', { steps: checked.steps.map((s) => s.name) });
      return { planner: 'llm', scope: covered ? 'full' : 'focused', intents: readQuestion(request.question).intents, model: options.model, steps: checked.steps };
    },
  };
}
