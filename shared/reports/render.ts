import { REPORT_CSP, renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportDocument, ReportFormat } from './model.js';

/** One report document in the requested format, with the content type and headers to send it with. */
export interface RenderedReport {
  contentType: string;
  text: string;
  headers: Record<string, string>;
}

export function renderJson(report: ReportDocument): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function renderReport(report: ReportDocument, format: ReportFormat): RenderedReport {
  const rendered = renderBody(report, format);
  return { ...rendered, headers: { 'X-Content-Type-Options': 'nosniff', ...rendered.headers } };
}

function renderBody(report: ReportDocument, format: ReportFormat): RenderedReport {
  const name = `${report.investigation.id.replace(/[^\w.-]/g, '_')}-report`;
  switch (format) {
    case 'json':
      return { contentType: 'application/json; charset=utf-8', text: renderJson(report), headers: { 'Content-Disposition': `inline; filename="${name}.json"` } };
    case 'md':
      return { contentType: 'text/markdown; charset=utf-8', text: renderMarkdown(report), headers: { 'Content-Disposition': `inline; filename="${name}.md"` } };
    case 'html':
      return {
        contentType: 'text/html; charset=utf-8',
        text: renderHtml(report),
        headers: { 'Content-Security-Policy': REPORT_CSP, 'Referrer-Policy': 'no-referrer', 'Content-Disposition': `inline; filename="${name}.html"` },
      };
  }
}

export { buildReport, type InvestigationView, type Reader } from './build.js';
export { REPORT_FORMATS, REPORT_VERSION, ReportDocumentSchema, type ReportDocument, type ReportFormat } from './model.js';
