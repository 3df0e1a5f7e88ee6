import { startTestStack, waitFor, type TestStack } from './harness.js';

/**
 * The list reads a projection (docs/decisions/0049): its summaries must still say what the full
 * document says — risk score, recommended action, findings count, the subject as the caller may
 * see it — including for documents written before the store kept `findings_count`.
 */
let stack: TestStack;
let analyst = '';
let lead = '';
beforeAll(async () => {
  stack = await startTestStack();
  analyst = await stack.token('analyst@example.com');
  lead = await stack.token('lead@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

async function summaryOf(id: string, token: string) {
  const list = await stack.call('GET', '/v1/investigations?page_size=100', { token });
  expect(list.status).toBe(200);
  return list.body.items.find((i: { id: string }) => i.id === id);
}

it('summaries agree with the full investigation, for new and for older documents', async () => {
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'ring.member@example.com' } } });
  const full = await waitFor(stack, created.body.id, analyst, ['completed']);
  expect(full.findings.length).toBeGreaterThan(0);
  const expected = { id: full.id, status: 'completed', risk_score: full.risk.score, recommended_action: full.recommended_action.action, findings_count: full.findings.length };

  expect(await summaryOf(full.id, lead)).toMatchObject({ ...expected, subject: { type: 'email', value: 'ring.member@example.com', masked: false } });
  expect(await summaryOf(full.id, analyst)).toMatchObject({ ...expected, subject: { type: 'email', value: 'r***@example.com', masked: true } });

  // A document as stored before `findings_count` existed: the list counts its findings itself.
  const db = stack.runtime.firestore();
  const stored = (await db.collection('investigations').doc(full.id).get()).data()!;
  expect(stored.findings_count).toBe(full.findings.length);
  const olderId = full.id.slice(0, -1) + (full.id.endsWith('0') ? '1' : '0');
  const { findings_count: _count, ...older } = stored;
  await db.collection('investigations').doc(olderId).set({ ...older, id: olderId });
  // (Listed as the analyst: the copy's sealed subject is bound to the original's path, so only its masked form is shown.)
  expect(await summaryOf(olderId, analyst)).toMatchObject({ ...expected, id: olderId });
  await db.collection('investigations').doc(olderId).delete();
});

it('a queued investigation lists with no risk, no action and no findings', async () => {
  stack.bus.pause('investigation-worker');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'user_id', value: 'u_000042' } } });
  expect(await summaryOf(created.body.id, analyst)).toMatchObject({ status: 'queued', risk_score: null, recommended_action: null, findings_count: 0 });
  stack.bus.resume('investigation-worker');
});
