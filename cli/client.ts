import { z } from 'zod';
import {
  CreatedSchema,
  InvestigationPageSchema,
  InvestigationSchema,
  LocalTokenSchema,
  ProblemSchema,
  type Created,
  type Investigation,
  type InvestigationPage,
  type LocalToken,
  type ProblemBody,
} from './schemas.js';

/**
 * The CLI's only HTTP client for the platform API. Every response is validated before use; failures
 * become one of three errors the CLI knows how to explain: ApiError (the platform answered with a
 * problem), UnreachableError (no answer), UnexpectedResponseError (an answer we cannot read).
 */

/** The platform answered with an RFC 9457 problem (or an error status we turned into one). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ApiError';
  }
}

/** No HTTP answer at all: connection refused, DNS failure, reset, timeout. */
export class UnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    /** errno-style code from the socket layer (ECONNREFUSED, ENOTFOUND, ...) or TIMEOUT. */
    readonly code: string | null,
  ) {
    super(`cannot reach ${baseUrl}${code ? ` (${code})` : ''}`);
    this.name = 'UnreachableError';
  }
}

/** An answer that is not what the API contract promises (a proxy page, an incompatible server). */
export class UnexpectedResponseError extends Error {
  override name = 'UnexpectedResponseError';
}

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

const TRANSIENT_STATUS = new Set([502, 503, 504]);
/** Codes meaning "nothing is listening / no such host": retrying only delays the explanation. */
const PERMANENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL']);
const MAX_RETRY_WAIT_MS = 5000;

interface SendOptions<T> {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  schema: z.ZodType<T>;
  auth: boolean;
  /** A non-JSON answer (a report): the body as text, checked to be of this media type. */
  raw?: { mediaType: string };
}

export type ReportFormat = 'md' | 'html' | 'json';
const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = { md: 'text/markdown', html: 'text/html', json: 'application/json' };

export class TsiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** A copy of this client that sends `token` as its bearer token. */
  withToken(token: string): TsiClient {
    return new TsiClient({ ...this.options, token });
  }

  /** POST /_local/token: exists only on the local stack (404 elsewhere). */
  localToken(email: string): Promise<LocalToken> {
    return this.send({ method: 'POST', path: '/_local/token', body: { email }, schema: LocalTokenSchema, auth: false });
  }

  /** The key makes the create safe to retry: the platform answers a repeat with the same investigation. */
  createInvestigation(request: CreateInvestigationRequest, idempotencyKey: string): Promise<Created> {
    return this.send({
      method: 'POST',
      path: '/v1/investigations',
      body: request,
      headers: { 'Idempotency-Key': idempotencyKey },
      schema: CreatedSchema,
      auth: true,
    });
  }

  getInvestigation(id: string): Promise<Investigation> {
    return this.send({ method: 'GET', path: `/v1/investigations/${encodeURIComponent(id)}`, schema: InvestigationSchema, auth: true });
  }

  /** GET /v1/investigations/{id}/report: the rendered report as text (Markdown, HTML or JSON). */
  getReport(id: string, format: ReportFormat): Promise<string> {
    return this.send({
      method: 'GET',
      path: `/v1/investigations/${encodeURIComponent(id)}/report?format=${format}`,
      schema: z.string(),
      auth: true,
      raw: { mediaType: REPORT_MEDIA_TYPES[format] },
    });
  }

  listInvestigations(query: ListInvestigationsQuery = {}): Promise<InvestigationPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return this.send({ method: 'GET', path: `/v1/investigations${qs ? `?${qs}` : ''}`, schema: InvestigationPageSchema, auth: true });
  }

  private async send<T>(req: SendOptions<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retries;
      let response: Response;
      try {
        response = await this.fetchOnce(req);
      } catch (error) {
        if (!(error instanceof UnreachableError) || last || PERMANENT_NETWORK.has(error.code ?? '')) throw error;
        await this.sleep(backoff(attempt));
        continue;
      }
      if (response.ok) return this.parse(req, response);
      const failure = await toApiError(response);
      if (!TRANSIENT_STATUS.has(response.status) || last) throw failure;
      await this.sleep(Math.min(failure.retryAfterSeconds !== null ? failure.retryAfterSeconds * 1000 : backoff(attempt), MAX_RETRY_WAIT_MS));
    }
  }

  private async fetchOnce(req: SendOptions<unknown>): Promise<Response> {
    const headers: Record<string, string> = { Accept: req.raw ? `${req.raw.mediaType}, application/problem+json` : 'application/json, application/problem+json', ...req.headers };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (req.auth && this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    try {
      return await this.fetchImpl(this.baseUrl + req.path, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal,
      });
    } catch (error) {
      // The caller's abort (Ctrl-C) is not a network failure: let it through untouched.
      if (this.options.signal?.aborted) throw error;
      if (timeout.aborted) throw new UnreachableError(this.baseUrl, 'TIMEOUT');
      throw new UnreachableError(this.baseUrl, networkCode(error));
    }
  }

  private async parse<T>(req: SendOptions<T>, response: Response): Promise<T> {
    const text = await response.text();
    if (req.raw) {
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== req.raw.mediaType) throw new UnexpectedResponseError(`${req.method} ${req.path} answered with ${type || 'no content type'}, not ${req.raw.mediaType}`);
      return req.schema.parse(text);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(`${req.method} ${req.path} answered ${response.status} with a body that is not JSON`);
    }
    const parsed = req.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid';
      throw new UnexpectedResponseError(`${req.method} ${req.path} answered with an unexpected shape (${where})`);
    }
    return parsed.data;
  }
}

function backoff(attempt: number): number {
  return 300 * 3 ** attempt;
}

async function toApiError(response: Response): Promise<ApiError> {
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after') ? retryAfter : null;
  let body: unknown = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // Not JSON (a proxy or load balancer page): fall back to the status line below.
  }
  const parsed = ProblemSchema.safeParse(body);
  const problem: ProblemBody = parsed.success
    ? parsed.data
    : { title: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, status: response.status };
  return new ApiError(response.status, problem, retryAfterSeconds);
}

/** undici wraps socket errors as `TypeError('fetch failed', { cause })`; dual-stack connects nest them in an AggregateError. */
function networkCode(error: unknown, depth = 0): string | null {
  if (!error || typeof error !== 'object' || depth > 5) return null;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  // Prefer the socket's errno (ECONNREFUSED) over undici's wrapper codes (UND_ERR_SOCKET).
  const nested = networkCode(record.cause, depth + 1) ?? (Array.isArray(record.errors) ? networkCode(record.errors[0], depth + 1) : null);
  const own = typeof record.code === 'string' ? record.code : null;
  if (nested && (nested.startsWith('E') || !own)) return nested;
  return own ?? nested;
}
