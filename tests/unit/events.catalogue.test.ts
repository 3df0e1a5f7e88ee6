import { readFileSync } from 'node:fs';
import type { AgentResult } from '../../shared/agent/model.js';
import { CATALOGUE, InvalidEventError, WEBHOOK_EVENT_TYPES, jsonSchemaOf, specOf } from '../../shared/events/catalogue.js';
import { renderCatalogue } from '../../shared/events/catalogue-doc.js';
import { EventTypes, makeEvent, validateEvent } from '../../shared/events/model.js';
import { toPubSubMessage } from '../../shared/events/pubsub.js';
import * as life from '../../shared/investigations/lifecycle.js';

const t0 = new Date('2026-03-01T10:00:00Z');

describe('event catalogue', () => {
  it('has an entry (with a JSON Schema) for every event type the code names', () => {
    for (const type of Object.values(EventTypes)) {
      const spec = specOf(type);
      expect(spec).toBeDefined();
      const schema = jsonSchemaOf(spec!);
      expect(schema).toMatchObject({ type: 'object', additionalProperties: false, $id: `https://tsi.dev/schemas/events/${type}.json` });
    }
    expect(new Set(CATALOGUE.map((s) => s.type)).size).toBe(CATALOGUE.length);
  });

  it('docs/events.md lists exactly the current catalogue (regenerate with npx tsx shared/events/catalogue-doc.ts --write)', () => {
    const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    expect(doc).toContain(renderCatalogue());
  });

  it('knows the tick of every scheduled function in the manifest (an unknown tick would be dropped)', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../functions/manifest.json', import.meta.url), 'utf8')) as { functions: { name: string; trigger: { kind: string; event_name?: string } }[] };
    const ticks = manifest.functions.filter((f) => f.trigger.kind === 'schedule').map((f) => f.trigger.event_name!);
    expect(ticks.length).toBeGreaterThan(0);
    for (const tick of ticks) expect([tick, specOf(`tsi.${tick}.v1`)?.type]).toEqual([tick, `tsi.${tick}.v1`]);
  });

  it('offers webhooks only public events, never inbound commands or plumbing', () => {
    expect(WEBHOOK_EVENT_TYPES).toContain(EventTypes.investigationCompleted);
    expect(WEBHOOK_EVENT_TYPES).toContain(EventTypes.findingCreated);
    expect(WEBHOOK_EVENT_TYPES).not.toContain(EventTypes.investigationRequestSubmitted);
    expect(WEBHOOK_EVENT_TYPES).not.toContain(EventTypes.schedulerReconcile);
  });

  it('refuses to build an event whose data does not match its schema (e.g. personal data slipped in)', () => {
    const ok = { investigation_id: 'inv_01abc', status: 'queued', sensitivity: 'standard' };
    expect(makeEvent(EventTypes.investigationRequested, 'inv_01abc', ok, t0)).toMatchObject({ dataschema: 'https://tsi.dev/schemas/events/tsi.investigation.requested.v1.json' });
    expect(() => makeEvent(EventTypes.investigationRequested, 'inv_01abc', { ...ok, email: 'x@example.com' }, t0)).toThrow(InvalidEventError);
    expect(() => makeEvent(EventTypes.investigationRequested, 'inv_01abc', { investigation_id: 'inv_01abc' }, t0)).toThrow(InvalidEventError);
    // The error names paths, never values, so logging it leaks nothing.
    try {
      makeEvent(EventTypes.investigationAssigned, 'inv_01abc', { investigation_id: 'inv_01abc', status: 'completed', assignee: 'lead@example.com' }, t0);
    } catch (error) {
      expect(String(error)).not.toContain('lead@example.com');
    }
  });

  it('validates received events: envelope, known type and data', () => {
    const event = makeEvent(EventTypes.investigationCancelled, 'inv_01abc', { investigation_id: 'inv_01abc', status: 'cancelled' }, t0);
    expect(validateEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
    expect(() => validateEvent({ ...event, type: 'tsi.unknown.thing.v1' })).toThrow(/unknown event type/);
    expect(() => validateEvent({ ...event, data: { investigation_id: 'inv_01abc', status: 'exploded' } })).toThrow(InvalidEventError);
    expect(() => validateEvent({ ...event, specversion: '0.3' })).toThrow(InvalidEventError);
  });
});

describe('Pub/Sub message', () => {
  it('carries filter attributes and orders by investigation', () => {
    const event = makeEvent(EventTypes.investigationCompleted, 'inv_01abc', { investigation_id: 'inv_01abc', status: 'completed', risk_score: 40, recommended_action: 'warn', findings: 2, escalate: false }, t0);
    const message = toPubSubMessage(event);
    expect(JSON.parse(message.data.toString())).toEqual(event);
    expect(message.attributes).toMatchObject({ type: 'investigation.completed', version: '1', investigation_id: 'inv_01abc', 'ce-id': event.id, 'ce-type': event.type });
    expect(message.orderingKey).toBe('inv_01abc');
  });

  it('has no ordering key for events about no investigation', () => {
    const message = toPubSubMessage(makeEvent(EventTypes.schedulerReconcile, undefined, { job: 'reconcile' }, t0));
    expect(message.orderingKey).toBeUndefined();
    expect(message.attributes.investigation_id).toBeUndefined();
  });
});

describe('events emitted by the lifecycle', () => {
  const created = life.newInvestigation({ subject: { type: 'email', value: 'x@example.com' }, window_days: 30, sensitivity: 'standard' }, { email: 'analyst@example.com', team: 'trust' }, t0);
  const running = life.claim(created.doc, 'w1', 'e1', 60_000, t0)!;
  const finding = { id: 'f_1', type: 'ban_evasion', severity: 'high', title: 't', summary: 's', confidence: 0.9, escalate: true, evidence: [] } as AgentResult['findings'][number];
  const result: AgentResult = {
    resolved: true,
    accounts: ['u_1'],
    steps: [],
    findings: [finding],
    risk: { score: 70, contributions: [] },
    recommended_action: { action: 'ban', reason: 'r' },
    summary: 's',
  } as AgentResult;
  const completed = life.complete(running.doc, 'w1', result, t0);
  const assigned = life.assign(completed.doc, 'lead@example.com', 'analyst2@example.com', t0);
  const closed = life.close(assigned.doc, 'lead@example.com', { decision: 'banned', rationale: 'Confirmed, see x@example.com' }, t0);

  it('emits started, completed, one finding.created per finding, assigned and closed', () => {
    expect(running.events.map((e) => e.type)).toEqual([EventTypes.investigationStarted]);
    expect(completed.events.map((e) => e.type)).toEqual([EventTypes.investigationCompleted, EventTypes.findingCreated]);
    expect(completed.events[1]!.data).toEqual({ investigation_id: created.doc.id, finding_id: 'f_1', finding_type: 'ban_evasion', severity: 'high', escalate: true });
    expect(assigned.events.map((e) => e.type)).toEqual([EventTypes.investigationAssigned]);
    expect(closed.events[0]!.data).toEqual({ investigation_id: created.doc.id, status: 'closed', decision: 'banned' });
  });

  it('puts no email (subject or staff) in any event', () => {
    const all = [created, running, completed, assigned, closed].flatMap((m) => m.events);
    expect(JSON.stringify(all)).not.toMatch(/@example\.com/);
  });
});
