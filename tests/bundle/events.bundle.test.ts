import { EventTypes, makeEvent, type PlatformEvent } from '../../shared/events/model.js';
import { toPubSubMessage } from '../../shared/events/pubsub.js';
import type { PublishedMessage } from '../../local/pubsub-server.js';
import { AUDIENCE, PROJECT, SERVICE_PRINCIPAL, TOPIC, activeFunctions, buildBundles, eventarcDelivery, startBundle, startStandIns, type RunningBundle, type StandIns } from './harness.js';

/**
 * Every event function's bundle as Cloud Functions runs it, fed the CloudEvents Eventarc sends
 * for Pub/Sub messages (binary and structured HTTP mode), a malformed one and a duplicate.
 */
let standIns: StandIns;
const running: Record<string, RunningBundle> = {};

beforeAll(async () => {
  buildBundles();
  standIns = await startStandIns();
  // One at a time: each is its own Node process, as each function is its own instance.
  for (const fn of activeFunctions) running[fn.name] = await startBundle(fn.name, standIns.values);
}, 240_000);
afterAll(async () => {
  await Promise.all(Object.values(running).map((b) => b.stop()));
  await standIns?.stop();
});

function asMessage(event: PlatformEvent): PublishedMessage {
  const m = toPubSubMessage(event);
  return { topic: `projects/${PROJECT}/topics/${TOPIC}`, messageId: `m-${event.id}`, data: m.data, attributes: m.attributes, orderingKey: m.orderingKey ?? '', publishTime: new Date() };
}

async function deliver(fn: string, m: PublishedMessage, mode: 'binary' | 'structured') {
  const { headers, body } = eventarcDelivery(m, mode);
  const res = await fetch(running[fn]!.url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function api(method: string, path: string, as: string, body?: unknown) {
  const res = await fetch(`${running.api!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${standIns.token(as)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as any };
}

async function published(type: string, investigationId: string, timeoutMs = 20_000): Promise<PublishedMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = standIns.pubsub.published.find((p) => p.attributes['ce-type'] === type && JSON.parse(p.data.toString()).data?.investigation_id === investigationId);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${type} for ${investigationId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ok = (status: number) => status >= 200 && status < 300;

describe('worker', () => {
  it.each(['binary', 'structured'] as const)('runs an investigation delivered in %s mode, once even when delivered twice', async (mode) => {
    const created = await api('POST', '/v1/investigations', 'lead@example.com', { subject: { type: 'email', value: 'clean.user@example.com' } });
    expect(created.status).toBe(202);
    const id = created.json.id as string;
    const requested = await published(EventTypes.investigationRequested, id);
    const first = await deliver('worker', requested, mode);
    expect(first.status).toBeLessThan(300);
    const read = await api('GET', `/v1/investigations/${id}`, 'lead@example.com');
    expect(read.json.status).toBe('completed');
    const findings = JSON.stringify(read.json.findings ?? read.json);
    const again = await deliver('worker', requested, mode);
    expect(ok(again.status)).toBe(true);
    const after = await api('GET', `/v1/investigations/${id}`, 'lead@example.com');
    expect(after.json.status).toBe('completed');
    expect(JSON.stringify(after.json.findings ?? after.json)).toBe(findings);
    const completions = standIns.pubsub.published.filter((p) => p.attributes['ce-type'] === EventTypes.investigationCompleted && JSON.parse(p.data.toString()).data?.investigation_id === id);
    expect(completions).toHaveLength(1);
  });

  it('acknowledges a malformed event and one about an investigation that does not exist', async () => {
    const garbage = { ...asMessage(makeEvent(EventTypes.investigationRequested, undefined, { investigation_id: 'inv_01kzzzzzzzzzzzzzzzzzzzzzzz', status: 'queued', sensitivity: 'standard' }, new Date())), data: Buffer.from('not json') };
    expect(ok((await deliver('worker', garbage, 'binary')).status)).toBe(true);
    const missing = asMessage(makeEvent(EventTypes.investigationRequested, undefined, { investigation_id: 'inv_01kzzzzzzzzzzzzzzzzzzzzzzz', status: 'queued', sensitivity: 'standard' }, new Date()));
    expect(ok((await deliver('worker', missing, 'structured')).status)).toBe(true);
  });

  it('answers a body that is not JSON with problem+json, not HTML', async () => {
    const res = await fetch(running.worker!.url, { method: 'POST', headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-type': 'y', 'ce-source': 'z' }, body: '{' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('scheduled and fan-out functions', () => {
  const ticks: [string, () => PlatformEvent][] = [
    ['reconciler', () => makeEvent(EventTypes.schedulerReconcile, undefined, { job: 'reconcile' }, new Date())],
    ['retention', () => makeEvent(EventTypes.schedulerRetention, undefined, { job: 'retention', dry_run: true }, new Date())],
    ['data-quality', () => makeEvent(EventTypes.schedulerDataQuality, undefined, { job: 'data_quality' }, new Date())],
    ['backup', () => makeEvent(EventTypes.schedulerBackup, undefined, { job: 'backup' }, new Date())],
    ['webhooks', () => makeEvent(EventTypes.schedulerReconcile, undefined, { job: 'reconcile' }, new Date())],
  ];
  it.each(ticks)('%s takes its event in both modes, a duplicate and a malformed one', async (fn, event) => {
    const m = asMessage(event());
    const outcomes = [await deliver(fn, m, 'binary'), await deliver(fn, m, 'structured'), await deliver(fn, { ...m, data: Buffer.from('{"not":"an event"}') }, 'binary')];
    expect(outcomes.map((o) => o.status).filter((s) => !ok(s))).toEqual([]);
    expect(running[fn]!.output()).not.toMatch(/clean\.user@example\.com|eyJ[\w-]+\.eyJ/);
  });

  it('erasure acknowledges a request it cannot find and a malformed one', async () => {
    const m = asMessage(makeEvent(EventTypes.erasureRequested, undefined, { erasure_id: 'era_01kzzzzzzzzzzzzzzzzzzzzzzz', subject_type: 'email' }, new Date()));
    expect(ok((await deliver('erasure', m, 'binary')).status)).toBe(true);
    expect(ok((await deliver('erasure', { ...m, data: Buffer.from('x') }, 'structured')).status)).toBe(true);
  });
});

describe('intake (Pub/Sub push with an OIDC token)', () => {
  function push(event: PlatformEvent, token: string | null) {
    const m = asMessage(event);
    return fetch(running.intake!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: m.messageId, publishTime: m.publishTime.toISOString() }, subscription: `projects/${PROJECT}/subscriptions/intake` }),
    });
  }
  const submitted = () => makeEvent(EventTypes.investigationRequestSubmitted, undefined, { requested_by: SERVICE_PRINCIPAL, subject: { type: 'user_id', value: 'u_000001' }, question: 'linked accounts?', window_days: 14 }, new Date());

  it('creates one investigation per message, even when it is pushed twice', async () => {
    const event = submitted();
    const token = standIns.keys.idToken(SERVICE_PRINCIPAL, AUDIENCE);
    const first = await push(event, token);
    expect(first.status).toBe(200);
    const body = (await first.json()) as any;
    expect(body.outcome).toBe('created');
    const second = (await (await push(event, token)).json()) as any;
    expect(second).toMatchObject({ outcome: 'replayed', investigation_id: body.investigation_id });
  });

  it('refuses a push without a valid token', async () => {
    expect((await push(submitted(), null)).status).toBe(401);
    expect((await push(submitted(), standIns.keys.idToken(SERVICE_PRINCIPAL, 'https://elsewhere.test'))).status).toBe(401);
  });
});
