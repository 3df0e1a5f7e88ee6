import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logging } from '@google-cloud/logging';
import { verifyAuditChain } from '../../shared/audit/chain.js';
import { CloudLoggingAuditLog } from '../../shared/audit/cloud-logging.js';
import { LocalFileAuditLog } from '../../shared/audit/local-file.js';
import type { AuditInput } from '../../shared/audit/model.js';
import { ManualClock } from '../../shared/platform/clock.js';

/**
 * Issue 16.2: every kind of secret and personal data, typed into every free-text and identifier
 * field of an audit record, must be absent from what the writers store: the local JSON-lines file
 * and the request the Cloud Logging adapter sends (through the real @google-cloud/logging client,
 * its gRPC transport replaced by a recorder). Each value is scanned for verbatim.
 */
const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));

/** value as typed → the raw strings that must not survive (a secret's payload, not its label). */
const SECRETS: { kind: string; typed: string; raw: string[] }[] = [
  { kind: 'email', typed: 'victim.person@example.org', raw: ['victim.person@example.org'] },
  { kind: 'percent-encoded email', typed: 'victim.person%40example.org', raw: ['victim.person%40example.org', 'victim.person@example.org'] },
  { kind: 'card (spaces)', typed: '4111 1111 1111 1111', raw: ['4111 1111 1111 1111', '4111111111111111'] },
  { kind: 'card (dashes)', typed: '5555-5555-5555-4444', raw: ['5555-5555-5555-4444'] },
  { kind: 'card (amex)', typed: '378282246310005', raw: ['378282246310005'] },
  { kind: 'jwt', typed: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', raw: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'] },
  { kind: 'webhook secret', typed: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', raw: ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] },
  { kind: 'google api key', typed: 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY', raw: ['AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'] },
  { kind: 'google oauth token', typed: 'ya29.a0AfH6SMBxK9yW2r', raw: ['a0AfH6SMBxK9yW2r'] },
  { kind: 'sk- key', typed: 'sk-proj-4fQ9vN2mX7pL1kR8sT3wY6zB', raw: ['4fQ9vN2mX7pL1kR8sT3wY6zB'] },
  { kind: 'bearer token', typed: 'Bearer opaqueTokenValue123', raw: ['opaqueTokenValue123'] },
  { kind: 'password pair', typed: 'password=Hunter2!Secret', raw: ['Hunter2!Secret'] },
  { kind: 'json password', typed: '{"password":"CorrectHorse9"}', raw: ['CorrectHorse9'] },
  { kind: 'high-entropy token', typed: 'KZ8f3Lq9vXw2Rt7Yp1Nm4Bc6Dh0Gj5Sa', raw: ['KZ8f3Lq9vXw2Rt7Yp1Nm4Bc6Dh0Gj5Sa'] },
  { kind: 'ipv4', typed: '203.0.113.77', raw: ['203.0.113.77'] },
  { kind: 'ipv6', typed: '2001:db8:85a3::8a2e:370:7334', raw: ['2001:db8:85a3::8a2e:370:7334'] },
];

const SOURCE_IP = '198.51.100.7';
const base = (): AuditInput => ({
  actor: 'Analyst@Example.com',
  roles: ['analyst'],
  action: 'investigations.read',
  resource: 'investigations/inv_01jdq3v8m7x5k2n9p4r6t8w0yz',
  outcome: 'denied',
  reason: null,
  request_id: '123e4567-e89b-12d3-a456-426614174000',
  trace: '4bf92f3577b34da6a3ce929d0e0e4736',
  source_ip: SOURCE_IP,
  method: 'GET',
  path: '/v1/investigations/{id}',
});

/** One record per (field, secret): the secret placed where a caller could put it. */
function inputs(): { field: string; kind: string; input: AuditInput }[] {
  const out: { field: string; kind: string; input: AuditInput }[] = [];
  for (const s of SECRETS) {
    const put = (field: string, patch: Partial<AuditInput>) => out.push({ field, kind: s.kind, input: { ...base(), ...patch } });
    put('reason', { reason: `refused: ${s.typed} was given` });
    put('resource', { resource: `investigations/${s.typed}` });
    put('path', { path: `/v1/unknown/${s.typed}/x` });
    put('query string', { path: `/v1/investigations?q=${encodeURIComponent(s.typed)}&raw=${s.typed}` });
    put('details', { details: { note: `typed ${s.typed}`, nested: { list: [s.typed] } } });
    put('action', { action: `unrouted ${s.typed}` });
    put('method', { method: s.typed });
    put('principal', { principal: `${s.typed} x` });
    put('time', { time: s.typed });
    // Identifiers: a request id or trace a client sent. Long digit runs stay (Pub/Sub message ids).
    if (!s.kind.startsWith('card') && s.kind !== 'high-entropy token') {
      put('request_id', { request_id: s.typed });
      put('trace', { trace: s.typed });
    }
  }
  return out;
}

function expectClean(text: string, label: string) {
  for (const s of SECRETS) for (const raw of s.raw) if (text.includes(raw)) throw new Error(`${label}: raw ${s.kind} "${raw}" survived`);
}

describe('audit writers redact every field (issue 16.2)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-audit-redact-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('local file: no raw secret or personal data in any field, identities and the chain intact', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = new LocalFileAuditLog(file, clock);
    const cases = inputs();
    for (const c of cases) await log.write(c.input);
    await log.close();
    const text = fs.readFileSync(file, 'utf8');
    const records = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(cases.length);
    records.forEach((r, i) => expectClean(JSON.stringify(r), `${cases[i]!.field} / ${cases[i]!.kind}`));
    // What is an identity or a fact by design stays as given.
    expect(records.every((r) => r.source_ip === SOURCE_IP && r.actor === 'analyst@example.com')).toBe(true);
    expect(records.filter((r) => r.request_id === '123e4567-e89b-12d3-a456-426614174000').length).toBeGreaterThan(cases.length / 2);
    expect(records.filter((r) => r.resource === 'investigations/inv_01jdq3v8m7x5k2n9p4r6t8w0yz').length).toBeGreaterThan(cases.length / 2);
    expect(verifyAuditChain(records)).toMatchObject({ ok: true, checked: cases.length });
  });

  it('keeps a principal that is one e-mail address (whose role binding changed), lower-cased', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = new LocalFileAuditLog(file, clock);
    const stored = await log.append({ ...base(), action: 'roles.changed', resource: 'role-bindings/Lead@Example.com', principal: 'Lead@Example.com' });
    const other = await log.append({ ...base(), action: 'roles.changed', resource: 'role-bindings/victim@example.org', principal: 'Lead@Example.com' });
    const junk = await log.append({ ...base(), action: 'roles.changed', resource: 'role-bindings/x', principal: 'a@b.com and c@d.com' });
    await log.close();
    expect(stored).toMatchObject({ principal: 'lead@example.com', resource: 'role-bindings/lead@example.com' });
    // Only the principal's own name is kept; anything else in the resource is redacted as usual.
    expect(other).toMatchObject({ principal: 'lead@example.com', resource: 'role-bindings/[PII]' });
    expect(junk).toMatchObject({ principal: '[PII] and [PII]' });
  });

  it('Cloud Logging adapter: the entries.write request carries no raw secret or personal data', async () => {
    const logging = new Logging({ projectId: 'tsi-test' });
    const requests: { entries: unknown[]; logName: string }[] = [];
    // The gRPC transport is the boundary: record what would go over the wire.
    (logging as unknown as { loggingService: unknown }).loggingService = {
      writeLogEntries: async (req: { entries: unknown[]; logName: string }) => {
        requests.push(req);
        return [{}];
      },
    };
    logging.detectedResource = { type: 'global' };
    const log = new CloudLoggingAuditLog({ projectId: 'tsi-test', logName: 'tsi-audit', clock, instance: 'api', logging });
    const cases = inputs();
    await Promise.all(cases.map((c) => log.write(c.input)));
    const entries = requests.flatMap((r) => r.entries) as { insertId?: string; labels?: Record<string, string> }[];
    const audit = entries.filter((e) => e.insertId?.startsWith('api/'));
    expect(audit).toHaveLength(cases.length);
    expect(requests[0]!.logName).toBe('projects/tsi-test/logs/tsi-audit');
    expectClean(JSON.stringify(requests), 'cloud logging request');
    expect(JSON.stringify(requests)).toContain(SOURCE_IP);
  });
});
