import type { z } from 'zod';
import type {
  CommentViewSchema,
  InvestigationPageViewSchema,
  InvestigationSummaryViewSchema,
  InvestigationViewSchema,
  MeSchema,
} from '../../../shared/api/responses.js';
import type { AssignSchema, CloseSchema, CreateInvestigationSchema, ListQuerySchema } from '../../../shared/investigations/model.js';

/**
 * Request and response types, inferred from the zod schemas the API validates with and generates
 * its OpenAPI document from (type-only imports: nothing of the server is loaded at run time).
 */
export type Investigation = z.output<typeof InvestigationViewSchema>;
export type InvestigationSummary = z.output<typeof InvestigationSummaryViewSchema>;
export type InvestigationPage = z.output<typeof InvestigationPageViewSchema>;
export type Comment = z.output<typeof CommentViewSchema>;
export type Me = z.output<typeof MeSchema>;
export type CreateInvestigationRequest = z.input<typeof CreateInvestigationSchema>;
export type ListInvestigationsQuery = Partial<z.input<typeof ListQuerySchema>>;
export type AssignRequest = z.input<typeof AssignSchema>;
export type CloseRequest = z.input<typeof CloseSchema>;
export type InvestigationStatus = Investigation['status'];
export type ReportFormat = 'md' | 'html' | 'json';

export interface Page<T> {
  items: T[];
  next_page_token: string | null;
}
