import type { Firestore } from '@google-cloud/firestore';
import { EventTypes, makeEvent, type PlatformEvent } from '../../shared/events/model.js';
import { PUBSUB_MESSAGE_PUBLISHED, wrapForDelivery } from '../../shared/events/envelope.js';
import { WarehouseBusyError } from '../../shared/guard/errors.js';
import * as life from '../../shared/investigations/lifecycle.js';
import { InvestigationPii } from '../../shared/investigations/pii.js';
import { reconcile } from '../../shared/investigations/reconciler.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { runRequested } from '../../shared/investigations/worker.js';
import type { Warehouse } from '../../shared/warehouse/port.js';
import { quietLogger, startTestStack, waitFor, type TestStack } from './harness.js';

/**
 * The worker and the reconciler racing each other on the running local stack (issue 12, issue
 * 17.3): no phantom events from a retried transaction, a live worker keeps its lease through a
 * slow step, events about missing investigations are acknowledged, and a full warehouse queue is
 * waited out.
 */
let stack: TestStack;
let analyst = '';
beforeAll(async () => {
  stack = await startTestStack();
  analyst = await stack.token('analyst@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function queued(value = 'u_000042'): Promise<string> {
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'user_id', value } } });
  expect(created.status).toBe(202);
  return created.body.id;
}

/**
 * The stack's own Firestore, with one concurrent write slipped in after the first transaction
 * attempt has read and planned and before it commits: the emulator then aborts that commit and
 * the client runs the transaction again, as under real contention.
 */
function withOneConcurrentWrite(db: Firestore, write: () => Promise<unknown>): Firestore {
  let pending = true;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'runTransaction') {
        return (fn: (tx: unknown) => Promise<unknown>, options?: unknown) =>
          target.runTransaction(async (tx) => {
            const planned = await fn(tx);
            if (pending) {
              pending = false;
              await write();
            }
            return planned;
          }, options as never);
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Every event the stack publishes while `during` runs. */
async function publishedDuring(during: () => Promise<unknown>): Promise<PlatformEvent[]> {
  const seen: PlatformEvent[] = [];
  const original = stack.bus.publish.bind(stack.bus);
  stack.bus.publish = async (event) => {
    seen.push(event);
    return original(event);
  };
  try {
    await during();
  } finally {
    stack.bus.publish = original;
  }
  return seen;
}

function reconcilerDeps(store: InvestigationStore, leaseMs: number) {
  const rt = stack.runtime;
  return { db: rt.firestore(), store, service: rt.service, publisher: stack.bus, clock: rt.clock, logger: quietLogger, maxAttempts: 3, leaseMs };
}

it('reconciler: publishes nothing for a requeue whose transaction was retried and found the lease renewed', async () => {
  stack.bus.pause('investigation-worker');
  const id = await queued();
  await stack.runtime.store.mutate(id, (doc) => life.claim(doc, 'wrk_live', 'evt_live', 200, new Date()));
  await sleep(300); // the lease looks expired to the reconciler's query
  // The live worker renews between the reconciler's read and its commit.
  const renew = () => stack.runtime.store.mutate(id, (doc) => life.renew(doc, 'wrk_live', 60_000, new Date()));
  const store = new InvestigationStore(withOneConcurrentWrite(stack.runtime.firestore(), renew), new InvestigationPii(stack.runtime.dataProtection), stack.runtime.clock);

  let report: Awaited<ReturnType<typeof reconcile>> | undefined;
  const events = await publishedDuring(async () => {
    report = await reconcile(reconcilerDeps(store, 60_000));
  });
  stack.bus.resume('investigation-worker');

  expect(report!.requeued).not.toContain(id);
  expect(report!.failed).not.toContain(id);
  expect(events.filter((e) => e.subject === id).map((e) => e.type)).toEqual([]);
  const doc = await stack.runtime.store.get(id);
  expect(doc!.status).toBe('running');
  expect(doc!.lease!.owner).toBe('wrk_live');
  expect(doc!.history.map((h) => h.action)).toEqual(['create', 'start']);
});

/** The stack's warehouse, with the first query held until `release()`: a step as slow as we like. */
function slowFirstQuery(real: Warehouse) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let started: () => void = () => undefined;
  const firstStarted = new Promise<void>((r) => (started = r));
  let first = true;
  const warehouse: Warehouse = {
    kind: real.kind,
    async query(q) {
      if (first) {
        first = false;
        started();
        await gate;
      }
      return real.query(q);
    },
    ping: () => real.ping(),
    close: () => real.close(),
  };
  return { warehouse, release, firstStarted };
}

it('reconciler racing a worker whose step outlasts the lease: the worker renews, the investigation runs once', async () => {
  stack.bus.pause('investigation-worker');
  const id = await queued();
  const leaseMs = 1_500;
  const slow = slowFirstQuery(stack.runtime.warehouse);
  const event = makeEvent(EventTypes.investigationRequested, id, { investigation_id: id, status: 'queued', sensitivity: 'standard' }, new Date());
  const rt = stack.runtime;
  const run = runRequested(id, event, { store: rt.store, service: rt.service, warehouse: slow.warehouse, clock: rt.clock, logger: quietLogger, leaseMs, workerId: 'wrk_slow' });

  await slow.firstStarted;
  await sleep(2 * leaseMs); // one step running for twice the lease
  const report = await reconcile(reconcilerDeps(rt.store, leaseMs));
  expect(report.requeued).not.toContain(id);
  slow.release();

  await expect(run).resolves.toBe('completed');
  stack.bus.resume('investigation-worker');
  await stack.bus.drain();
  const done = await waitFor(stack, id, analyst);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(1);
  const doc = await rt.store.get(id);
  expect(doc!.history.map((h) => h.action)).toEqual(['create', 'start', 'complete']);
});

it('a worker whose lease was taken stops instead of finishing a second run', async () => {
  stack.bus.pause('investigation-worker');
  const id = await queued();
  const slow = slowFirstQuery(stack.runtime.warehouse);
  const event = makeEvent(EventTypes.investigationRequested, id, { investigation_id: id, status: 'queued', sensitivity: 'standard' }, new Date());
  const rt = stack.runtime;
  const run = runRequested(id, event, { store: rt.store, service: rt.service, warehouse: slow.warehouse, clock: rt.clock, logger: quietLogger, leaseMs: 60_000, heartbeatMs: 50, workerId: 'wrk_old' });
  await slow.firstStarted;
  // Someone else now owns the work (e.g. an operator requeued it and another worker claimed it).
  await rt.store.mutate(id, (doc) => ({ doc: { ...doc, lease: { ...doc.lease!, owner: 'wrk_other' } }, events: [] }));
  await sleep(200); // a heartbeat sees the loss
  slow.release();
  await expect(run).resolves.toBe('lease-lost');
  const doc = await rt.store.get(id);
  expect(doc!.status).toBe('running');
  expect(doc!.steps.length).toBe(0);
  stack.bus.resume('investigation-worker');
});

/** Delivers an event to the worker exactly as Eventarc would (binary CloudEvent over HTTP). */
async function deliver(event: PlatformEvent): Promise<number> {
  const res = await fetch(`${stack.url}/_functions/worker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': `msg-${Math.random()}`, 'ce-type': PUBSUB_MESSAGE_PUBLISHED, 'ce-source': '//pubsub.googleapis.com/projects/tsi-local/topics/tsi-events' },
    body: JSON.stringify(wrapForDelivery(event, 'projects/tsi-local/subscriptions/test', 'm1', new Date())),
  });
  await res.arrayBuffer();
  return res.status;
}

it('acknowledges a requested event about an investigation that does not exist (no retry to dead letter)', async () => {
  const missing = 'inv_01m8xp0000000000000000000z';
  const event = makeEvent(EventTypes.investigationRequested, missing, { investigation_id: missing, status: 'queued', sensitivity: 'standard' }, new Date());
  expect(await deliver(event)).toBeLessThan(300);
});

it('waits out a full warehouse queue instead of failing the investigation on the first refusal', async () => {
  stack.bus.pause('investigation-worker');
  const id = await queued();
  const real = stack.runtime.warehouse;
  let refusals = 2;
  const busy: Warehouse = {
    kind: real.kind,
    async query(q) {
      if (refusals > 0) {
        refusals--;
        throw new WarehouseBusyError(200);
      }
      return real.query(q);
    },
    ping: () => real.ping(),
    close: () => real.close(),
  };
  const rt = stack.runtime;
  const event = makeEvent(EventTypes.investigationRequested, id, { investigation_id: id, status: 'queued', sensitivity: 'standard' }, new Date());
  const outcome = await runRequested(id, event, { store: rt.store, service: rt.service, warehouse: busy, clock: rt.clock, logger: quietLogger, leaseMs: 60_000, transientBackoffMs: [10, 20, 40] });
  stack.bus.resume('investigation-worker');
  expect(outcome).toBe('completed');
  const doc = await rt.store.get(id);
  expect(doc!.steps.filter((s) => s.status === 'failed')).toEqual([]);
  expect(refusals).toBe(0);
});

it('two reconciler runs fired at once: one runs, the other skips', async () => {
  const rt = stack.runtime;
  const reports = await Promise.all([reconcile(reconcilerDeps(rt.store, 60_000)), reconcile(reconcilerDeps(rt.store, 60_000))]);
  expect(reports.filter((r) => r.skipped === true)).toHaveLength(1);
  // The lease was given back: the next run runs.
  expect((await reconcile(reconcilerDeps(rt.store, 60_000))).skipped).toBeUndefined();
});

it('a reconciler run holds its job lease for the configured worker lease, so one killed mid-run blocks the next run no longer than a dead worker blocks its investigation', async () => {
  // Found by the faults proof suite (tests/proof/faults.ts): after kill -9 during a reconcile,
  // the restarted stack skipped every reconcile for a hard-coded 5 minutes while runs sat in
  // `running` with leases long expired.
  const rt = stack.runtime;
  const leaseMs = 5_000;
  let release!: () => void;
  const hanging = new Promise<void>((r) => (release = r));
  const store = Object.create(rt.store) as InvestigationStore;
  store.findByStatus = async (...args: Parameters<InvestigationStore['findByStatus']>) => {
    await hanging; // the run is mid-way, as when its process is killed
    return rt.store.findByStatus(...args);
  };
  const run = reconcile(reconcilerDeps(store, leaseMs));
  let lease: { expires_at_ms: number } | undefined;
  for (let i = 0; i < 100 && !lease; i++) {
    lease = (await rt.firestore().collection('job_leases').doc('reconcile').get()).data() as { expires_at_ms: number } | undefined;
    if (!lease) await sleep(20);
  }
  release();
  await run;
  expect(lease).toBeDefined();
  expect(lease!.expires_at_ms - Date.now()).toBeLessThanOrEqual(leaseMs);
});
