import type { Request, Response } from '@google-cloud/functions-framework';
import { can } from '../../shared/auth/policy.js';
import type { InvestigationDoc } from '../../shared/investigations/model.js';
import { presentInvestigation } from '../../shared/investigations/present.js';
import type { InvestigationService } from '../../shared/investigations/service.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { NotFoundError } from '../../shared/platform/errors.js';
import { createHttpHandler, type Caller, type RequestAudit } from '../../shared/platform/http.js';
import { Logger } from '../../shared/platform/logger.js';
import { reportRoutes } from '../../shared/reports/routes.js';

/**
 * The report route through the real HTTP kit, with a stand-in for the investigation store (the
 * service's `visible`), so states that are hard to catch on a live stack (queued, running) are exact.
 */
const ROLES: Record<string, string[]> = { 'analyst@example.com': ['analyst'], 'lead@example.com': ['lead'], 'admin@example.com': ['admin'] };

function doc(id: string, status: InvestigationDoc['status']): InvestigationDoc {
  return {
    id,
    status,
    subject: { type: 'email', value: 'someone@example.com' },
    question: null,
    window_days: 30,
    sensitivity: 'standard',
    created_by: 'analyst@example.com',
    team: 'trust',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    assignee: null,
    steps: [],
    findings: [],
    risk: status === 'completed' ? { score: 0, contributions: [] } : null,
    recommended_action: status === 'completed' ? { action: 'none', reason: 'clean' } : null,
    summary: status === 'completed' ? 'No abuse signals found.' : null,
    resolved_accounts: [],
    failure_reason: null,
    decision: null,
    attempts: 1,
    lease: null,
    comments_count: 0,
    history: [],
  };
}

const docs = new Map<string, InvestigationDoc>([
  ['inv_done', doc('inv_done', 'completed')],
  ['inv_running', doc('inv_running', 'running')],
  ['inv_queued', doc('inv_queued', 'queued')],
  ['inv_cancelled', doc('inv_cancelled', 'cancelled')],
]);

/** Reads through the read use case (which reveals/masks and audits personal data), by id. */
const reads: string[] = [];
const service = {
  async visible(id: string) {
    const found = docs.get(id);
    if (!found) throw new NotFoundError('Investigation');
    return found;
  },
  async read(id: string, call: { caller: Caller }) {
    reads.push(id);
    return presentInvestigation((await service.visible(id)) as InvestigationDoc, call.caller);
  },
} as unknown as InvestigationService & { visible(id: string): Promise<InvestigationDoc> };
const requests: RequestAudit[] = [];

const handler = createHttpHandler(reportRoutes({ service, clock: new ManualClock(new Date('2026-02-01T00:00:00.000Z')) }), {
  logger: new Logger({}, () => {}, 'ERROR'),
  clock: new ManualClock(new Date('2026-02-01T00:00:00.000Z')),
  maxBodyBytes: 1024,
  identify: async (headers) => {
    const email = String(headers['x-test-user']);
    const roles = ROLES[email] ?? [];
    return { email, roles, team: 'trust', via: 'test', can: (p: string) => can(roles, p) } satisfies Caller;
  },
  audit: async (record) => void requests.push(record),
});

async function get(url: string, user: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const headers: Record<string, string> = {};
  let status = 0;
  let body = '';
  const req = { method: 'GET', url, originalUrl: url, headers: { 'x-test-user': user }, ip: '127.0.0.1' } as unknown as Request;
  const res = {
    headersSent: false,
    set statusCode(code: number) {
      status = code;
    },
    setHeader(k: string, v: string) {
      headers[k.toLowerCase()] = v;
      return this;
    },
    getHeader: (k: string) => headers[k.toLowerCase()],
    end(chunk?: string) {
      body = chunk ?? '';
    },
  } as unknown as Response;
  await handler(req, res);
  return { status, headers, body };
}

beforeEach(() => {
  reads.length = 0;
  requests.length = 0;
});

describe('GET /v1/investigations/{id}/report', () => {
  it('sends Markdown as text with its content type, not as a JSON string', async () => {
    const res = await get('/v1/investigations/inv_done/report?format=md', 'analyst@example.com');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(res.body).toMatch(/^# Investigation report `inv_done`\n/);
    expect(res.body).toContain('`s***@example.com` (masked)');
    expect(requests[0]).toMatchObject({ action: 'investigations.report', outcome: 'allowed', resource: 'investigations/inv_done', actor: 'analyst@example.com' });
  });

  it('shows a reader of personal data the subject', async () => {
    const res = await get('/v1/investigations/inv_done/report?format=html', 'lead@example.com');
    expect(res.body).toContain('someone@example.com');
    expect(res.body).toContain('personal data shown');
  });

  it.each(['inv_queued', 'inv_running'])('answers 409 report-not-ready for %s work', async (id) => {
    const res = await get(`/v1/investigations/${id}/report`, 'analyst@example.com');
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ type: 'https://tsi.dev/problems/report-not-ready', status_now: id === 'inv_queued' ? 'queued' : 'running' });
    // Nothing was shown, so nothing went through the (audited) read of personal data.
    expect(reads).toEqual([]);
  });

  it('reports a cancelled investigation, marked incomplete', async () => {
    const res = await get('/v1/investigations/inv_cancelled/report', 'analyst@example.com');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ complete: false, notice: expect.stringMatching(/cancelled/) });
  });

  it('refuses callers without investigations.read, unknown formats and extra parameters', async () => {
    expect((await get('/v1/investigations/inv_done/report', 'admin@example.com')).status).toBe(403);
    expect((await get('/v1/investigations/inv_done/report?format=pdf', 'analyst@example.com')).status).toBe(400);
    expect((await get('/v1/investigations/inv_done/report?format=md&x=1', 'analyst@example.com')).status).toBe(400);
    expect((await get('/v1/investigations/inv_missing/report', 'analyst@example.com')).status).toBe(404);
  });
});
