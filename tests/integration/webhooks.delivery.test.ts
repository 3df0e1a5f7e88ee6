import fs from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { jest } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { LocalFileAuditLog } from '../../shared/audit/local-file.js';
import { EventTypes, makeEvent } from '../../shared/events/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { ValidationError } from '../../shared/platform/errors.js';
import type { Caller } from '../../shared/platform/http.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';
import { RETRY_POLICY } from '../../shared/webhooks/backoff.js';
import { SecretBox } from '../../shared/webhooks/secret-box.js';
import { WebhookService, type AdminCall } from '../../shared/webhooks/service.js';
import { LOCAL_POLICY, PRODUCTION_POLICY } from '../../shared/webhooks/ssrf.js';
import { WebhookStore } from '../../shared/webhooks/store.js';

/**
 * Webhook delivery end to end through Firestore (embedded emulator), the real SSRF-guarded HTTP
 * sender and a real receiver on loopback (allowed in local mode). Time is a ManualClock: retries
 * are reached by moving it and running the sweep, never by waiting.
 */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

class Receiver {
  readonly received: Received[] = [];
  /** Status codes to answer, in order; then 200. */
  script: { status: number; headers?: Record<string, string> }[] = [];
  server: Server;
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const next = this.script.shift() ?? { status: 200 };
        res.writeHead(next.status, next.headers ?? {});
        res.end('ok');
      });
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  }
}

const admin: Caller = { email: 'admin@example.com', roles: ['admin'], team: null, via: 'test', can: () => true };
const call: AdminCall = { caller: admin, requestId: 'req-test-0001', trace: null, sourceIp: null };
const quiet = new Logger({}, () => {});

let server: LocalFirestoreServer;
let db: Firestore;
let dir: string;
let audit: LocalFileAuditLog;
const clock = new ManualClock(new Date());
let service: WebhookService;
let store: WebhookStore;
const receivers: Receiver[] = [];
let seq = 0;

async function receiver(): Promise<Receiver> {
  const r = new Receiver();
  await r.start();
  receivers.push(r);
  return r;
}

function completedEvent() {
  seq++;
  const id = `inv_test${String(seq).padStart(4, '0')}`;
  return makeEvent(EventTypes.investigationCompleted, id, { investigation_id: id, status: 'completed', risk_score: 55, recommended_action: 'warn', findings: 1, escalate: false }, clock.now());
}

/** Verifies with the official library as of the attempt's own timestamp. */
function verify(secret: string, r: Received): unknown {
  const ts = Number(r.headers['webhook-timestamp']) * 1000;
  const spy = jest.spyOn(Date, 'now').mockReturnValue(ts);
  try {
    return new Webhook(secret).verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) });
  } finally {
    spy.mockRestore();
  }
}

/** Moves the clock to the delivery's next attempt and runs the scheduled sweep. */
async function advanceToNextAttempt(deliveryId: string): Promise<void> {
  const d = await store.getDelivery(deliveryId);
  clock.set(new Date(d!.next_attempt_at!));
  await service.sweep();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-webhooks-'));
  server = new LocalFirestoreServer({ dataDir: path.join(dir, 'fs'), logger: quiet });
  const { host, port } = await server.start(0);
  db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  store = new WebhookStore(db);
  audit = new LocalFileAuditLog(path.join(dir, 'audit.jsonl'), clock);
  service = new WebhookService({ store, box: new SecretBox(new LocalSecretStore(path.join(dir, 'secrets'))), audit, clock, logger: quiet, policy: LOCAL_POLICY, random: () => 0.5 });
});

// Each test starts without subscriptions, so a fan-out reaches only the test's own receiver.
beforeEach(async () => {
  for (const sub of (await service.list()).items) await service.remove(sub.id, call);
});

afterAll(async () => {
  for (const r of receivers) await new Promise<void>((res) => r.server.close(() => res()));
  await db.terminate();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('webhook subscriptions', () => {
  it('shows the secret once, never stores or returns it in clear afterwards', async () => {
    const r = await receiver();
    const created = await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    expect(created.secret).toMatch(/^whsec_/);
    const read = await service.get(created.id);
    expect(JSON.stringify(read)).not.toContain(created.secret);
    expect(JSON.stringify(await service.list())).not.toContain(created.secret);
    const raw = JSON.stringify((await db.collection('webhook_subscriptions').doc(created.id).get()).data());
    expect(raw).not.toContain(created.secret.slice(6));
    const records = await audit.query({ resource: `webhooks/${created.id}`, page_size: 10 });
    expect(records.items.map((i) => i.action)).toContain('webhooks.created');
    expect(JSON.stringify(records)).not.toContain(created.secret.slice(6));
  });

  it.each(['http://10.0.0.1/hook', 'http://169.254.169.254/computeMetadata/v1/', 'http://metadata.google.internal/', 'http://[fd00::1]/hook', 'http://0xa9fea9fe/'])('refuses the private or metadata URL %s', async (url) => {
    await expect(service.create({ url, event_types: [EventTypes.investigationCompleted], enabled: true }, call)).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses loopback and plain http outside local mode', async () => {
    const prod = new WebhookService({ store, box: new SecretBox(new LocalSecretStore(path.join(dir, 'secrets'))), audit, clock, logger: quiet, policy: PRODUCTION_POLICY });
    await expect(prod.create({ url: 'https://127.0.0.1/hook', event_types: [EventTypes.investigationCompleted], enabled: true }, call)).rejects.toThrow(/loopback/);
    await expect(prod.create({ url: 'http://hooks.example.com/hook', event_types: [EventTypes.investigationCompleted], enabled: true }, call)).rejects.toThrow(/https/);
  });
});

describe('webhook delivery', () => {
  it('a receiver that fails 3 times then succeeds gets exactly one successful delivery and 3 recorded failures', async () => {
    const r = await receiver();
    const { id: subId, secret } = await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    r.script = [{ status: 500 }, { status: 503 }, { status: 429 }];
    const event = completedEvent();
    const { deliveries } = await service.fanOut(event);
    expect(deliveries).toHaveLength(1);
    const id = deliveries[0]!;
    // Nothing is due before the scheduled time: the sweep does not send early.
    await service.sweep();
    expect(r.received).toHaveLength(1);
    for (let i = 0; i < 3; i++) await advanceToNextAttempt(id);
    expect(r.received).toHaveLength(4);
    // Another sweep much later sends nothing more.
    clock.advance(48 * 3600_000);
    await service.sweep();
    expect(r.received).toHaveLength(4);

    const delivery = await store.getDelivery(id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 4, last_status_code: 200 });
    const attempts = await store.attemptsOf('delivery_id', id, 10);
    expect(attempts.filter((a) => a.outcome === 'succeeded')).toHaveLength(1);
    expect(attempts.filter((a) => a.outcome === 'failed').map((a) => a.status_code).sort()).toEqual([429, 500, 503]);
    for (const a of attempts) expect(a.latency_ms).toBeGreaterThanOrEqual(0);
    // Same webhook-id on every attempt, each verified by the official library, thin body.
    expect(new Set(r.received.map((x) => x.headers['webhook-id']))).toEqual(new Set([event.id]));
    for (const x of r.received) expect(verify(secret, x)).toEqual({ type: event.type, timestamp: event.time, data: event.data });
    expect((await service.attempts(subId, 50)).items).toHaveLength(4);
  });

  it('honours Retry-After when it asks for longer than the schedule', async () => {
    const r = await receiver();
    await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    r.script = [{ status: 503, headers: { 'Retry-After': '7200' } }];
    const before = clock.now().getTime();
    const { deliveries } = await service.fanOut(completedEvent());
    const d = await store.getDelivery(deliveries[0]!);
    expect(new Date(d!.next_attempt_at!).getTime() - before).toBe(7200_000);
  });

  it('deduplicates a redelivered event by its id', async () => {
    const r = await receiver();
    await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    const event = completedEvent();
    const first = await service.fanOut(event);
    const again = await service.fanOut(JSON.parse(JSON.stringify(event)));
    expect(again.created).toBe(0);
    expect(again.deliveries).toEqual(first.deliveries);
    expect(r.received.filter((x) => x.headers['webhook-id'] === event.id)).toHaveLength(1);
  });

  it('410 Gone disables the subscription and dead-letters the delivery; nothing more is sent', async () => {
    const r = await receiver();
    const { id: subId } = await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    r.script = [{ status: 410 }];
    const { deliveries } = await service.fanOut(completedEvent());
    expect(await store.getDelivery(deliveries[0]!)).toMatchObject({ status: 'dead_lettered' });
    expect(await service.get(subId)).toMatchObject({ enabled: false, disabled_reason: expect.stringContaining('410') });
    await service.fanOut(completedEvent());
    expect(r.received).toHaveLength(1);
    const records = await audit.query({ resource: `webhooks/${subId}`, action: 'webhooks.disabled', page_size: 10 });
    expect(records.items).toHaveLength(1);
  });

  it('dead-letters after the last attempt; an admin sees it and replays it once the receiver is back', async () => {
    const r = await receiver();
    const { id: subId, secret } = await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    r.script = Array.from({ length: RETRY_POLICY.maxAttempts }, () => ({ status: 500 }));
    const started = clock.now().getTime();
    const { deliveries } = await service.fanOut(completedEvent());
    const id = deliveries[0]!;
    for (let i = 1; i < RETRY_POLICY.maxAttempts; i++) await advanceToNextAttempt(id);
    expect(r.received).toHaveLength(RETRY_POLICY.maxAttempts);
    const span = clock.now().getTime() - started;
    expect(span).toBeGreaterThan(20 * 3600_000);
    expect(span).toBeLessThan(30 * 3600_000);
    const dead = await service.deadLetters(subId, 10);
    expect(dead.items.map((d) => d.id)).toEqual([id]);
    expect(dead.items[0]).toMatchObject({ status: 'dead_lettered', attempts: RETRY_POLICY.maxAttempts, dead_letter_reason: expect.stringMatching(/no success/) });
    expect(JSON.stringify(dead)).not.toContain('payload');

    const replay = await service.replay(id, call);
    expect(replay.result).toBe('succeeded');
    expect(await store.getDelivery(id)).toMatchObject({ status: 'succeeded', replays: 1 });
    expect(verify(secret, r.received.at(-1)!)).toBeTruthy();
    expect((await service.deadLetters(subId, 10)).items).toHaveLength(0);
    await expect(service.replay(id, call)).rejects.toThrow(/not dead-lettered/);
  });

  it('signs with old and new secrets during the rotation overlap, then only the new one', async () => {
    const r = await receiver();
    const created = await service.create({ url: r.url, event_types: [EventTypes.investigationCompleted], enabled: true }, call);
    const rotated = await service.rotateSecret(created.id, 3600, call);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.secrets).toHaveLength(2);
    await service.fanOut(completedEvent());
    const during = r.received.at(-1)!;
    expect(verify(created.secret, during)).toBeTruthy();
    expect(verify(rotated.secret, during)).toBeTruthy();
    clock.advance(3601_000);
    await service.fanOut(completedEvent());
    const after = r.received.at(-1)!;
    expect(verify(rotated.secret, after)).toBeTruthy();
    expect(() => verify(created.secret, after)).toThrow();
  });

  it('does not send events a subscription did not ask for, nor to disabled subscriptions', async () => {
    const r = await receiver();
    const { id } = await service.create({ url: r.url, event_types: [EventTypes.investigationClosed], enabled: true }, call);
    await service.fanOut(completedEvent());
    expect(r.received).toHaveLength(0);
    await service.update(id, { enabled: false }, call);
    await service.fanOut(makeEvent(EventTypes.investigationClosed, 'inv_x1', { investigation_id: 'inv_x1', status: 'closed', decision: 'banned' }, clock.now()));
    expect(r.received).toHaveLength(0);
  });
});
