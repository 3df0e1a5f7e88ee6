import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { EventTypes, makeEvent } from '../../shared/events/model.js';
import { startTestStack, type TestStack } from './harness.js';

/**
 * Through the running local stack: an investigation requested over Pub/Sub (the local bus stands
 * in for the requesting system's push subscription) and webhooks managed over the API and
 * delivered by the bus-triggered webhooks function.
 */
let stack: TestStack;
let lead: string;
let admin: string;
let hookServer: Server;
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
let hookUrl = '';
const SERVICE = 'svc-moderation@example.com';

beforeAll(async () => {
  stack = await startTestStack();
  await stack.runtime.bindings.put({ email: SERVICE, roles: ['service'], team: null }, 'test-setup');
  lead = await stack.token('lead@example.com');
  admin = await stack.token('admin@example.com');
  // Outbound delivery is off by default (feature flag); an admin turns it on, as in production.
  const on = await stack.call('PUT', '/v1/flags/webhooks', { token: admin, body: { enabled: true, reason: 'e2e: endpoints registered' } });
  expect(on.status).toBe(200);
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  const a = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
});

afterAll(async () => {
  await stack.destroy();
  await new Promise<void>((r) => hookServer.close(() => r()));
});

function submitted(requestedBy: string, value: string) {
  return makeEvent(EventTypes.investigationRequestSubmitted, undefined, { requested_by: requestedBy, subject: { type: 'user_id', value }, question: 'linked accounts?', window_days: 14 }, new Date());
}

async function byCreator(email: string) {
  const res = await stack.call('GET', `/v1/investigations?created_by=${encodeURIComponent(email)}`, { token: lead });
  expect(res.status).toBe(200);
  return res.body.items as { id: string; created_by: string; window_days?: number }[];
}

describe('webhook subscriptions over the API', () => {
  let secret = '';
  it('lets an admin create a subscription (secret shown once) and nobody else', async () => {
    const denied = await stack.call('POST', '/v1/webhooks', { token: lead, body: { url: hookUrl, event_types: [EventTypes.investigationRequested] } });
    expect(denied.status).toBe(403);
    const created = await stack.call('POST', '/v1/webhooks', { token: admin, body: { url: hookUrl, event_types: [EventTypes.investigationRequested] } });
    expect(created.status).toBe(201);
    secret = created.body.secret;
    expect(secret).toMatch(/^whsec_/);
    const read = await stack.call('GET', `/v1/webhooks/${created.body.id}`, { token: admin });
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    const metadata = await stack.call('POST', '/v1/webhooks', { token: admin, body: { url: 'http://169.254.169.254/computeMetadata/v1/', event_types: [EventTypes.investigationRequested] } });
    expect(metadata.status).toBe(400);
    const inbound = await stack.call('POST', '/v1/webhooks', { token: admin, body: { url: hookUrl, event_types: [EventTypes.investigationRequestSubmitted] } });
    expect(inbound.status).toBe(400);
  });

  it('a Pub/Sub-published request produces one investigation, audited as the service principal, and a signed webhook', async () => {
    const event = submitted(SERVICE, 'u_000042');
    await stack.bus.publish(event);
    await stack.bus.drain();
    const mine = await byCreator(SERVICE);
    expect(mine).toHaveLength(1);
    const id = mine[0]!.id;
    const audit = await stack.runtime.audit.query({ actor: SERVICE, action: 'investigations.create', page_size: 10 });
    expect(audit.items.some((r) => r.outcome === 'allowed' && r.resource === `investigations/${id}`)).toBe(true);

    // The same message delivered again (at-least-once) changes nothing.
    await stack.bus.publish(JSON.parse(JSON.stringify(event)));
    await stack.bus.drain();
    expect(await byCreator(SERVICE)).toHaveLength(1);

    const requested = hooks.filter((h) => JSON.parse(h.body).data.investigation_id === id);
    expect(requested.length).toBeGreaterThanOrEqual(1);
    const first = requested[0]!;
    const verified = new Webhook(secret).verify(first.body, { 'webhook-id': String(first.headers['webhook-id']), 'webhook-timestamp': String(first.headers['webhook-timestamp']), 'webhook-signature': String(first.headers['webhook-signature']) }) as { type: string; data: Record<string, unknown> };
    expect(verified.type).toBe(EventTypes.investigationRequested);
    expect(JSON.stringify(verified)).not.toContain('u_000042');
  });

  it('refuses and audits a request from a principal without the service role', async () => {
    await stack.bus.publish(submitted('stranger@example.com', 'u_000043'));
    await stack.bus.publish(submitted('analyst@example.com', 'u_000044'));
    await stack.bus.drain();
    expect(await byCreator('stranger@example.com')).toHaveLength(0);
    expect(await byCreator('analyst@example.com')).toHaveLength(0);
    for (const actor of ['stranger@example.com', 'analyst@example.com']) {
      const audit = await stack.runtime.audit.query({ actor, action: 'investigations.create', page_size: 10 });
      expect(audit.items.some((r) => r.outcome === 'denied')).toBe(true);
    }
  });

  it('refuses a push without a valid token', async () => {
    const res = await fetch(`${stack.url}/_functions/intake`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: { data: Buffer.from('{}').toString('base64') } }) });
    expect(res.status).toBe(401);
  });
});
