import { z } from 'zod';
import {
  CreatedSchema,
  InvestigationPageSchema,
  InvestigationSchema,
  LocalTokenSchema,
  type Created,
  type Investigation,
  type InvestigationPage,
  type LocalToken,
} from './schemas.js';

import { ApiError, TsiClient as SdkClient, UnexpectedResponseError, UnreachableError, type RequestOptions } from '../packages/sdk/src/index.js';

/**
 * The CLI's only HTTP client for the platform API: the SDK (packages/sdk) with the CLI's loose
 * response schemas on top. Every response is validated before use; failures become one of three
 * errors the CLI knows how to explain: ApiError (the platform answered with a problem),
 * UnreachableError (no answer), UnexpectedResponseError (an answer we cannot read).
 */
export { ApiError, UnexpectedResponseError, UnreachableError };

export interface CreateInvestigationRequest {
  subject?: { type: string; value: string };
  question?: string;
  window_days?: number;
  sensitivity?: 'standard' | 'restricted';
}

export interface ListInvestigationsQuery {
  status?: string;
  created_by?: string;
  assignee?: string;
  page_size?: number;
  page_token?: string;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string | null;
  fetch?: typeof fetch;
  /** Aborts every request in flight (Ctrl-C). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Extra attempts after a transient failure (no answer, 502/503/504). */
  retries?: number;
  sleep?: (ms: number) => Promise<void>;
}

export type ReportFormat = 'md' | 'html' | 'json';

export class TsiClient {
  readonly baseUrl: string;
  private readonly sdk: SdkClient;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.sdk = new SdkClient({
      baseUrl: options.baseUrl,
      auth: options.token ?? null,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      timeoutMs: options.timeoutMs ?? 30_000,
      retry: { retries: options.retries ?? 2, maxDelayMs: 5000 },
    });
  }

  /** The SDK client underneath, with this client's credentials. */
  get api(): SdkClient {
    return this.sdk;
  }

  /** A copy of this client that sends `token` as its bearer token. */
  withToken(token: string): TsiClient {
    return new TsiClient({ ...this.options, token });
  }

  /** POST /_local/token: exists only on the local stack (404 elsewhere). */
  localToken(email: string): Promise<LocalToken> {
    return this.send({ method: 'POST', path: '/_local/token', body: { email }, auth: false }, LocalTokenSchema);
  }

  /** The key makes the create safe to retry: the platform answers a repeat with the same investigation. */
  createInvestigation(request: CreateInvestigationRequest, idempotencyKey: string): Promise<Created> {
    return this.send({ method: 'POST', path: '/v1/investigations', body: request, idempotencyKey }, CreatedSchema);
  }

  getInvestigation(id: string): Promise<Investigation> {
    return this.send({ method: 'GET', path: `/v1/investigations/${encodeURIComponent(id)}` }, InvestigationSchema);
  }

  /** GET /v1/investigations/{id}/report: the rendered report as text (Markdown, HTML or JSON). */
  getReport(id: string, format: ReportFormat): Promise<string> {
    return this.sdk.getReport(id, format);
  }

  listInvestigations(query: ListInvestigationsQuery = {}): Promise<InvestigationPage> {
    return this.send({ method: 'GET', path: '/v1/investigations', query: { ...query } }, InvestigationPageSchema);
  }

  private send<T>(req: Omit<RequestOptions<T>, 'parse'>, schema: z.ZodType<T>): Promise<T> {
    return this.sdk.request<T>({
      ...req,
      parse: (json) => {
        const parsed = schema.safeParse(json);
        if (parsed.success) return parsed.data;
        const issue = parsed.error.issues[0];
        const where = issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid';
        throw new UnexpectedResponseError(`${req.method} ${req.path} answered with an unexpected shape (${where})`);
      },
    });
  }
}
