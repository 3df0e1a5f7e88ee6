import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConfiguredPlanner, createLlmPlanner, SUBJECT_PLACEHOLDER } from '../../shared/agent/llm/index.js';
import { planInvestigation, type PlanRequest } from '../../shared/agent/planner.js';
import { STEPS } from '../../shared/agent/steps.js';
import { loadConfig } from '../../shared/platform/config.js';

/**
 * The LLM planner against a local HTTP server that speaks the OpenAI chat-completions API and
 * answers with scripted tool calls (or scripted failures). Real fetch, real JSON, real sockets.
 */
type Script = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let server: Server;
let endpoint: string;
let script: Script;
const seen: { headers: IncomingMessage['headers']; url: string; body: Record<string, any> }[] = [];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        seen.push({ headers: req.headers, url: req.url ?? '', body: JSON.parse(body) });
      } catch {
        seen.push({ headers: req.headers, url: req.url ?? '', body: {} });
      }
      script(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

const call = (name: string, args: Record<string, unknown> | string) => ({
  id: `call_${name}`,
  type: 'function',
  function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) },
});
const completion = (calls: unknown[]) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'test-model',
  choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: calls } }],
});
const replyJson = (status: number, body: unknown): Script => (_req, _body, res) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const toolCalls = (calls: unknown[]) => replyJson(200, completion(calls));

const API_KEY = 'sk-test-123';
const planner = (timeoutMs = 5_000) =>
  createLlmPlanner({ endpoint, model: 'test-model', apiKey: async () => API_KEY, timeoutMs });

const request: PlanRequest = { subject: { type: 'email', value: 'x@y.com' }, question: 'accounts sharing a card with x@y.com, and did usage spike last week?', windowDays: 30 };
const deterministic = planInvestigation(request);

describe('LLM planner', () => {
  it('uses a good plan: the steps the model called, placeholders substituted, its reasons recorded', async () => {
    script = toolCalls([
      call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30, reason: 'find the account' }),
      call('linked_accounts', { lookback_days: 365, reason: 'accounts sharing a card' }),
      call('usage_summary', { window_days: 30, focus_days: 7, reason: 'spike last week' }),
    ]);
    const plan = await planner().plan(request);
    expect(plan).toMatchObject({ planner: 'llm', scope: 'focused', model: 'test-model' });
    expect(plan.fallback_reason).toBeUndefined();
    expect(plan.steps.map((s) => [s.index, s.name])).toEqual([[1, 'resolve_email'], [2, 'linked_accounts'], [3, 'usage_summary']]);
    expect(plan.steps[0]!.args).toEqual({ value: 'x@y.com', lookback_days: 365, window_days: 30 });
    expect(plan.steps[2]!.args).toEqual({ window_days: 30, focus_days: 7 });
    expect(plan.steps[1]!.reason).toBe('LLM: accounts sharing a card');
    for (const s of plan.steps) expect(() => STEPS[s.name]!.args.parse(s.args)).not.toThrow();
  });

  it('sends the bearer key, the model, one tool per typed step and no personal data', async () => {
    script = toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }), call('payment_history', { lookback_days: 365 })]);
    await planner().plan({ ...request, question: 'does x@y.com share a card with other@example.com or fp_abcdef99 from 203.0.113.5?' });
    expect(seen).toHaveLength(1);
    const [{ headers, url, body }] = seen as [(typeof seen)[number]];
    expect(url).toBe('/v1/chat/completions');
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(body.model).toBe('test-model');
    expect(body.tool_choice).toBe('required');
    const tools = body.tools.map((t: any) => t.function.name);
    expect(tools).toEqual(['resolve_email', 'account_profile', 'usage_summary', 'moderation_history', 'linked_accounts', 'ban_evasion_check', 'owned_voices', 'payment_history', 'voice_users']);
    const usage = body.tools.find((t: any) => t.function.name === 'usage_summary').function.parameters;
    expect(usage).toMatchObject({ type: 'object', properties: { window_days: { type: 'integer', maximum: 365 }, focus_days: { type: 'integer' } }, required: ['window_days'] });
    const text = JSON.stringify(body.messages);
    expect(text).toContain('email');
    expect(text).toContain(SUBJECT_PLACEHOLDER);
    for (const pii of ['x@y.com', 'other@example.com', 'fp_abcdef99', '203.0.113.5']) expect(text).not.toContain(pii);
  });

  it.each<[string, Script, RegExp]>([
    ['an unknown tool', toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }), call('drop_table', {})]), /unknown tool "drop_table"/],
    ['invalid arguments', toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }), call('usage_summary', { window_days: 0 })]), /invalid arguments for "usage_summary"/],
    ['arguments that are not JSON', toolCalls([call('resolve_email', '{value: <subject>')]), /not JSON/],
    ['an account step before resolution', toolCalls([call('account_profile', {}), call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 })]), /needs resolved accounts/],
    ['a resolve step with a made-up value', toolCalls([call('resolve_email', { value: 'someone@else.com', lookback_days: 365, window_days: 30 }), call('account_profile', {})]), /must be called with value/],
    ['a resolve step for another subject type', toolCalls([call('resolve_ip', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 })]), /unknown tool "resolve_ip"/],
    ['a repeated step', toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }), call('account_profile', {}), call('account_profile', {})]), /called twice/],
    ['too many steps', toolCalls(Array.from({ length: 12 }, () => call('account_profile', {}))), /12 tools/],
    ['no tool call', toolCalls([]), /no tool/],
    ['a plan that checks nothing', toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 })]), /checks nothing/],
    ['an HTTP 500', replyJson(500, { error: { message: 'boom with secrets' } }), /HTTP 500/],
    ['a 401', replyJson(401, { error: { message: 'bad key' } }), /HTTP 401/],
    ['non-JSON', (_q, _b, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>gateway</html>'); }, /not JSON/],
    ['JSON that is not a chat completion', replyJson(200, { hello: 'world' }), /not a chat completion/],
  ])('falls back to the deterministic plan on %s, saying why', async (_what, reply, reason) => {
    script = reply;
    const plan = await planner().plan(request);
    expect(plan.planner).toBe('deterministic');
    expect(plan.fallback_reason).toMatch(reason);
    expect(plan.fallback_reason).not.toMatch(/secrets|bad key|x@y\.com/);
    expect(plan.steps).toEqual(deterministic.steps);
  });

  it('falls back when the endpoint does not answer in time', async () => {
    script = (_q, _b, res) => void hanging.push(res);
    const plan = await planner(200).plan(request);
    expect(plan).toMatchObject({ planner: 'deterministic', fallback_reason: 'no answer within 200 ms' });
    expect(plan.steps).toEqual(deterministic.steps);
  });

  it('falls back when nothing listens and when the key cannot be read', async () => {
    const closed = createLlmPlanner({ endpoint: 'http://127.0.0.1:9/v1', model: 'm', apiKey: async () => API_KEY, timeoutMs: 2_000 });
    expect((await closed.plan(request)).fallback_reason).toBe('the endpoint could not be reached');
    const noKey = createLlmPlanner({ endpoint, model: 'm', apiKey: () => Promise.reject(new Error('missing')), timeoutMs: 2_000 });
    expect(await noKey.plan(request)).toMatchObject({ planner: 'deterministic', fallback_reason: 'the API key secret could not be read' });
    expect(seen).toHaveLength(0);
  });

  it('substitutes the subject for a voice named by placeholder', async () => {
    script = toolCalls([
      call('resolve_voice_id', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }),
      call('voice_users', { window_days: 30, voice_id: SUBJECT_PLACEHOLDER }),
    ]);
    const plan = await planner().plan({ subject: { type: 'voice_id', value: 'voice_demo_likeness' }, question: 'who is using voice voice_demo_likeness', windowDays: 30 });
    expect(plan.planner).toBe('llm');
    expect(plan.steps[1]!.args).toEqual({ window_days: 30, voice_id: 'voice_demo_likeness' });
    expect(JSON.stringify(seen[0]!.body.messages)).not.toContain('voice_demo_likeness');
  });
});

describe('configured planner (feature flag)', () => {
  const secrets = { get: async (name: string) => (name === 'llm-api-key' ? API_KEY : Promise.reject(new Error('missing'))) };
  const config = () => loadConfig({ TSI_LLM_ENDPOINT: endpoint, TSI_LLM_MODEL: 'test-model' });

  it('is deterministic when the flag is off or absent, without calling the endpoint', async () => {
    script = toolCalls([]);
    for (const isLlmPlannerEnabled of [undefined, async () => false, async () => Promise.reject(new Error('flags down'))]) {
      const plan = await createConfiguredPlanner({ config: config(), secrets, ...(isLlmPlannerEnabled ? { isLlmPlannerEnabled } : {}) }).plan(request);
      expect(plan).toEqual(deterministic);
    }
    expect(seen).toHaveLength(0);
  });

  it('asks the model when the flag is on, with the key from the secret store', async () => {
    script = toolCalls([call('resolve_email', { value: SUBJECT_PLACEHOLDER, lookback_days: 365, window_days: 30 }), call('linked_accounts', { lookback_days: 365 })]);
    const plan = await createConfiguredPlanner({ config: config(), secrets, isLlmPlannerEnabled: async () => true }).plan(request);
    expect(plan.planner).toBe('llm');
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('says why when the flag is on but no endpoint is configured', async () => {
    const plan = await createConfiguredPlanner({ config: loadConfig({}), secrets, isLlmPlannerEnabled: async () => true }).plan(request);
    expect(plan).toMatchObject({ planner: 'deterministic', fallback_reason: expect.stringMatching(/TSI_LLM_ENDPOINT/) });
  });
});
