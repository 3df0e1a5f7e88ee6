import * as life from '../../shared/investigations/lifecycle.js';
import { EventTypes, makeEvent } from '../../shared/events/model.js';
import { PUBSUB_MESSAGE_PUBLISHED, wrapForDelivery } from '../../shared/events/envelope.js';
import { startTestStack, waitFor, type TestStack } from './harness.js';

let stack: TestStack;
let analyst: string;
beforeAll(async () => {
  stack = await startTestStack({ TSI_LEASE_SECONDS: '5' });
  analyst = await stack.token('analyst@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

/** Delivers a requested event to the worker exactly as Eventarc would (binary CloudEvent over HTTP). */
async function deliver(event: ReturnType<typeof makeEvent>): Promise<number> {
  const res = await fetch(`${stack.url}/_functions/worker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': `msg-${Math.random()}`, 'ce-type': PUBSUB_MESSAGE_PUBLISHED, 'ce-source': '//pubsub.googleapis.com/projects/tsi-local/topics/tsi-events' },
    body: JSON.stringify(wrapForDelivery(event, 'projects/tsi-local/subscriptions/test', 'm1', new Date())),
  });
  await res.arrayBuffer();
  return res.status;
}

it('runs an investigation once when its event is delivered several times at once', async () => {
  stack.bus.pause('investigation-worker');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'ring.member@example.com' } } });
  const id = created.body.id;
  const event = makeEvent(EventTypes.investigationRequested, id, { investigation_id: id, status: 'queued', sensitivity: 'standard' }, new Date());
  const statuses = await Promise.all([deliver(event), deliver(event), deliver(event)]);
  // Every delivery is acknowledged (2xx), so Pub/Sub would not redeliver any of them.
  for (const status of statuses) expect(status).toBeLessThan(300);
  stack.bus.resume('investigation-worker');
  const done = await waitFor(stack, id, analyst);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(1);
  const doc = await stack.runtime.store.get(id);
  expect(doc!.history.filter((h) => h.action === 'start')).toHaveLength(1);
  // Steps were recorded once each, not per delivery.
  expect(new Set(done.steps.map((s: any) => s.index)).size).toBe(done.steps.length);
});

it('recovers the investigation of a worker that died mid-run once the reconciler runs', async () => {
  stack.bus.pause('investigation-worker');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'clean.user@example.com' } } });
  const id = created.body.id;
  // A worker claims the work with a short lease and then dies: it never renews, never finishes.
  await stack.runtime.store.mutate(id, (doc) => life.claim(doc, 'wrk_doomed', 'evt_doomed', 300, new Date()));
  stack.bus.resume('investigation-worker'); // the original delivery now finds it running: no-op
  await stack.bus.drain();
  expect((await stack.call('GET', `/v1/investigations/${id}`, { token: analyst })).body.status).toBe('running');
  await new Promise((r) => setTimeout(r, 400)); // the dead worker's lease expires
  await stack.reconcileNow();
  const done = await waitFor(stack, id, analyst);
  expect(done.status).toBe('completed');
  expect(done.attempts).toBe(2);
  const doc = await stack.runtime.store.get(id);
  expect(doc!.history.map((h) => h.action)).toEqual(['create', 'start', 'requeue', 'start', 'complete']);
});

it('acknowledges and drops a malformed event instead of retrying it forever', async () => {
  const res = await fetch(`${stack.url}/_functions/worker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'bad-1', 'ce-type': PUBSUB_MESSAGE_PUBLISHED, 'ce-source': '//pubsub.googleapis.com/x' },
    body: JSON.stringify({ message: { data: Buffer.from('not json').toString('base64') } }),
  });
  expect(res.status).toBeLessThan(300);
});
