import { z } from 'zod';
import { canReadPii } from '../investigations/present.js';
import type { InvestigationService } from '../investigations/service.js';
import type { Clock } from '../platform/clock.js';
import { ConflictError } from '../platform/errors.js';
import type { Route } from '../platform/http.js';
import { buildReport } from './build.js';
import { REPORT_FORMATS, ReportDocumentSchema } from './model.js';
import { renderReport } from './render.js';

export interface ReportRouteDeps {
  service: InvestigationService;
  clock: Clock;
}

const ReportQuerySchema = z.strictObject({ format: z.enum(REPORT_FORMATS).default('json') });

/** Statuses with nothing settled to report: the investigation is still being worked on. */
const NOT_READY = new Set(['queued', 'running']);

/**
 * `GET /v1/investigations/{id}/report?format=json|md|html`.
 *
 * - Permission `investigations.read`; visibility as for reading the investigation (a restricted
 *   one the caller may not see is 404, like a missing one).
 * - Queued or running investigations answer 409 `report-not-ready`: a report is a document people
 *   file and forward, and one that silently changes under them would mislead; live progress is
 *   what `GET /v1/investigations/{id}` is for. Failed and cancelled ones do get a report (the
 *   queries that ran, the failure reason), marked incomplete.
 * - Personal data is masked unless the caller has `investigations.read_pii`; an unmasked report is
 *   a read of personal data, audited by the read use case (`pii.read`) like reading the
 *   investigation, next to the request's own record (action `investigations.report`).
 */
export function reportRoutes(deps: ReportRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/investigations/{id}/report',
      action: 'investigations.report',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'The investigation report as JSON, Markdown or self-contained HTML',
      tags: ['investigations'],
      request: { params: z.strictObject({ id: z.string().min(1).max(128) }), query: ReportQuerySchema },
      responses: {
        200: { contentType: 'application/json', schema: ReportDocumentSchema, description: 'The report; `format=md` answers text/markdown and `format=html` text/html.' },
      },
      async handle(ctx) {
        const caller = ctx.require('investigations.read');
        const id = ctx.params.id ?? '';
        ctx.resource = `investigations/${id}`;
        const format = ctx.queryOf(ReportQuerySchema).format;

        const call = { caller, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp };
        // Status first (404 for invisible or missing, 409 while it runs), then the read use case: it
        // reveals or masks personal data for this reader and audits an unmasked read (pii.read), the
        // same as GET /v1/investigations/{id}; the request's own audit record names the report.
        const current = await deps.service.visible(id, call);
        if (NOT_READY.has(current.status)) {
          throw new ConflictError('report-not-ready', `Investigation is ${current.status}; its report is available once it has completed, failed or been cancelled. Follow progress with GET /v1/investigations/${id}.`, {
            status_now: current.status,
          });
        }
        const view = await deps.service.read(id, call);
        const report = buildReport(view, { email: caller.email, pii: canReadPii(caller) }, deps.clock.now());
        const rendered = renderReport(report, format);
        return { status: 200, text: rendered.text, headers: { ...rendered.headers, 'Content-Type': rendered.contentType } };
      },
    },
  ];
}
