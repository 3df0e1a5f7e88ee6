import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Io } from '../../cli/main.js';
import { ReportDocumentSchema } from '../../shared/reports/model.js';
import { startTestStack, waitFor, type TestStack } from './harness.js';

/**
 * Reports through the running local stack: the real worker produces the investigations, the API
 * renders them, the CLI fetches them.
 */
let stack: TestStack;
let analyst: string;
let analyst2: string;
let lead: string;
let spiky: string;
let ring: string;
let tmp: string;

beforeAll(async () => {
  stack = await startTestStack();
  tmp = mkdtempSync(join(tmpdir(), 'tsi-report-'));
  analyst = await stack.token('analyst@example.com');
  analyst2 = await stack.token('analyst2@example.com');
  lead = await stack.token('lead@example.com');
  const a = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'spiky.user@example.com' } } });
  const b = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'ring.member@example.com' }, sensitivity: 'restricted' } });
  expect([a.status, b.status]).toEqual([202, 202]);
  spiky = a.body.id;
  ring = b.body.id;
  expect((await waitFor(stack, spiky, analyst)).status).toBe('completed');
  expect((await waitFor(stack, ring, analyst)).status).toBe('completed');
});
afterAll(async () => {
  await stack.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

const report = (id: string, token: string, format?: string) => stack.call('GET', `/v1/investigations/${id}/report${format ? `?format=${format}` : ''}`, { token });

describe('GET /v1/investigations/{id}/report', () => {
  it('gives an analyst a JSON report by default, with the timeline, the anomaly day and every query, PII masked', async () => {
    const res = await report(spiky, analyst);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = ReportDocumentSchema.parse(res.body);
    expect(doc.investigation).toMatchObject({ id: spiky, status: 'completed', subject: { type: 'email', value: 's***@example.com', masked: true } });
    expect(doc.reader).toEqual({ email: 'analyst@example.com', personal_data: 'masked' });
    expect(doc.findings.map((f) => f.type)).toContain('usage_anomaly');
    const days = doc.usage_timeline!.accounts[0]!.days;
    expect(days.length).toBeGreaterThanOrEqual(30);
    expect(days.filter((d) => d.anomaly).length).toBeGreaterThanOrEqual(1);
    const steps = (await stack.call('GET', `/v1/investigations/${spiky}`, { token: analyst })).body.steps;
    expect(doc.queries.map((q) => q.sql_hash)).toEqual(steps.map((s: { sql_hash: string }) => s.sql_hash));
    expect(JSON.stringify(res.body)).not.toContain('spiky.user@example.com');
  });

  it('renders Markdown and a self-contained HTML page with an SVG chart under a strict CSP', async () => {
    const md = await report(spiky, analyst, 'md');
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    for (const heading of ['## Summary', '## Risk score', '## Recommended action', '## Findings', '## Usage timeline', '## Linked accounts', '## Queries']) expect(md.body).toContain(heading);
    expect(md.body).toContain('**Subject:** email `s***@example.com` (masked)');
    expect(md.body).not.toContain('spiky.user@example.com');

    const html = await report(spiky, analyst, 'html');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/);
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html.body).toMatch(/^<!DOCTYPE html>/);
    expect(html.body).toContain('<svg');
    expect(html.body).toMatch(/<circle class="point anomaly"/);
    expect(html.body).not.toMatch(/<script/i);
    expect(html.body).not.toContain('spiky.user@example.com');
  });

  it('shows a lead the subject unmasked and audits that read of personal data', async () => {
    const res = await report(spiky, lead, 'md');
    expect(res.status).toBe(200);
    expect(res.body).toContain('spiky.user@example.com');
    expect(res.body).toMatch(/for lead@example\.com; personal data shown/);
    const compliance = await stack.token('compliance@example.com');
    const audit = await stack.call('GET', `/v1/audit?actor=lead@example.com&resource=investigations/${spiky}`, { token: compliance });
    const records = audit.body.items as { action: string; details?: Record<string, unknown> }[];
    // Before the report, the lead had not read this investigation: the read of personal data is the report's.
    expect(records.map((r) => r.action).sort()).toEqual(['investigations.report', 'pii.read']);
    expect(records.find((r) => r.action === 'pii.read')).toMatchObject({ details: { subject_type: 'email' } });
    expect(JSON.stringify(audit.body)).not.toContain('spiky.user@example.com');
  });

  it('lists the linked accounts of a ring member as a table', async () => {
    const res = await report(ring, analyst, 'json');
    const doc = ReportDocumentSchema.parse(res.body);
    const statuses = doc.linked_accounts!.items.map((l) => l.status);
    expect(statuses.filter((s) => s === 'banned')).toHaveLength(2);
    expect(statuses).toContain('suspended');
    const md = await report(ring, analyst, 'md');
    expect(md.body).toContain('| Account | Linked account | Shared | Identifiers | Status | Created |');
  });

  it('answers 404 for an investigation the caller may not see, exactly as for a missing one', async () => {
    const hidden = await report(ring, analyst2, 'md');
    const missing = await report('inv_does_not_exist', analyst2, 'md');
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body.type).toBe(missing.body.type);
    expect(hidden.body.detail).toBe(missing.body.detail);
  });

  it('refuses an unknown format with a 400 problem', async () => {
    const res = await report(spiky, analyst, 'pdf');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.type).toBe('https://tsi.dev/problems/validation-failed');
    expect(res.body.detail).toMatch(/query\.format/);
  });
});

describe('tsi report', () => {
  function io(env: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const value: Io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: { TSI_URL: stack.url, NO_COLOR: '1', ...env },
    };
    return { io: value, out: () => out.join(''), err: () => err.join('') };
  }

  it('prints the Markdown report to the terminal by default', async () => {
    const t = io();
    expect(await run(['report', spiky], t.io)).toBe(0);
    expect(t.out()).toMatch(/^# Investigation report/);
    expect(t.out()).toContain('## Usage timeline');
    expect(t.out()).not.toContain('spiky.user@example.com');
  });

  it('writes the HTML report to a file with --out, and the lead gets the unmasked subject', async () => {
    const file = join(tmp, 'report.html');
    const t = io({ TSI_AS: 'lead@example.com' });
    expect(await run(['report', spiky, '--format', 'html', '--out', file], t.io)).toBe(0);
    expect(t.out()).toBe('');
    expect(t.err()).toContain(file);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain('spiky.user@example.com');
  });

  it('explains a refused report and exits 1', async () => {
    const t = io({ TSI_AS: 'analyst2@example.com' });
    expect(await run(['report', ring, '--format', 'json'], t.io)).toBe(1);
    expect(t.err()).toMatch(/not found/i);
  });

  it('refuses an unknown format before calling the platform', async () => {
    const t = io();
    expect(await run(['report', spiky, '--format', 'pdf'], t.io)).toBe(2);
    expect(t.err()).toMatch(/--format must be one of md, html, json/);
  });
});
