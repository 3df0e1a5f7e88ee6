import { ApiError, UnexpectedResponseError, UnreachableError, type Problem } from './errors.js';
import { staticToken, type TokenProvider } from './auth.js';
import { DEFAULT_RETRY, PERMANENT_NETWORK, RETRY_STATUS, parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import type {
  Comment,
  CreateInvestigationRequest,
  CloseRequest,
  Investigation,
  InvestigationPage,
  InvestigationSummary,
  ListInvestigationsQuery,
  Me,
  Page,
  ReportFormat,
} from './types.js';

export interface ClientOptions {
  baseUrl: string;
  /** Bearer tokens: a provider (googleIdToken, localToken) or a fixed token. */
  auth?: TokenProvider | string | null;
  fetch?: typeof fetch;
  /** Aborts every request in flight. */
  signal?: AbortSignal;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Idempotency keys for POSTs that were not given one. */
  newIdempotencyKey?: () => string;
}

export interface RequestOptions<T> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Default true: send the bearer token. */
  auth?: boolean;
  /** Checks and types the JSON answer (e.g. a zod schema's parse); throws to reject it. */
  parse?: (json: unknown) => T;
  /** A non-JSON answer (a report): the body as text, checked to be of this media type. */
  raw?: { mediaType: string };
  idempotencyKey?: string;
  ifMatch?: string;
}

export interface WaitOptions {
  /** Called with every snapshot read while waiting (status changes, new steps). */
  onProgress?: (investigation: Investigation) => void;
  /** Called when a poll fails transiently (the platform restarting); waiting goes on. */
  onPollError?: (error: unknown, consecutiveFailures: number) => void;
  signal?: AbortSignal;
  pollIntervalMs?: number;
  /** Consecutive failed polls tolerated before giving up. */
  maxPollFailures?: number;
  /** Give up (UnexpectedResponseError) after this long; default: wait for ever (until `signal`). */
  timeoutMs?: number;
}

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'closed'] as const;
const REPORT_MEDIA_TYPES: Record<ReportFormat, string> = { md: 'text/markdown', html: 'text/html', json: 'application/json' };

/** The typed client of the TSI API. Every call retries 429/502/503/504 (honouring Retry-After) and network blips. */
export class TsiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly provider: TokenProvider | null;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.provider = typeof options.auth === 'string' ? staticToken(options.auth) : options.auth ?? null;
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** A copy of this client with other credentials. */
  withAuth(auth: TokenProvider | string): TsiClient {
    return new TsiClient({ ...this.options, auth });
  }

  // ---- investigations -----------------------------------------------------------------------
  /** POST /v1/investigations. Safe to retry: a key is generated when none is given and reused across retries. */
  createInvestigation(request: CreateInvestigationRequest, opts: { idempotencyKey?: string } = {}): Promise<Investigation> {
    return this.request({ method: 'POST', path: '/v1/investigations', body: request, ...opts });
  }

  getInvestigation(id: string): Promise<Investigation> {
    return this.request({ method: 'GET', path: `/v1/investigations/${encodeURIComponent(id)}` });
  }

  listInvestigations(query: ListInvestigationsQuery = {}): Promise<InvestigationPage> {
    return this.request({ method: 'GET', path: '/v1/investigations', query: query as RequestOptions<unknown>['query'] });
  }

  /** Every investigation matching `query`, page after page. */
  investigations(query: Omit<ListInvestigationsQuery, 'page_token'> = {}): AsyncGenerator<InvestigationSummary> {
    return this.paginate<InvestigationSummary>('/v1/investigations', query as Record<string, string | number | undefined>);
  }

  cancelInvestigation(id: string, opts: { ifMatch?: string } = {}): Promise<Investigation> {
    return this.action(id, 'cancel', {}, opts);
  }
  assignInvestigation(id: string, assignee: string, opts: { ifMatch?: string } = {}): Promise<Investigation> {
    return this.action(id, 'assign', { assignee }, opts);
  }
  closeInvestigation(id: string, body: CloseRequest, opts: { ifMatch?: string } = {}): Promise<Investigation> {
    return this.action(id, 'close', body, opts);
  }
  reopenInvestigation(id: string, opts: { ifMatch?: string } = {}): Promise<Investigation> {
    return this.action(id, 'reopen', {}, opts);
  }
  addComment(id: string, body: string, opts: { idempotencyKey?: string } = {}): Promise<Comment> {
    return this.request({ method: 'POST', path: `/v1/investigations/${encodeURIComponent(id)}/comments`, body: { body }, ...opts });
  }
  comments(id: string): AsyncGenerator<Comment> {
    return this.paginate<Comment>(`/v1/investigations/${encodeURIComponent(id)}/comments`, {});
  }

  /** GET /v1/investigations/{id}/report: the rendered report as text (Markdown, HTML or JSON). */
  getReport(id: string, format: ReportFormat): Promise<string> {
    return this.request({ method: 'GET', path: `/v1/investigations/${encodeURIComponent(id)}/report`, query: { format }, raw: { mediaType: REPORT_MEDIA_TYPES[format] } });
  }

  me(): Promise<Me> {
    return this.request({ method: 'GET', path: '/v1/me' });
  }

  /**
   * Polls until the investigation is completed, failed, cancelled or closed; `onProgress` sees every
   * snapshot. Transient failures (no answer, 5xx) are tolerated up to `maxPollFailures` in a row.
   */
  async waitForInvestigation(id: string, opts: WaitOptions = {}): Promise<Investigation> {
    const interval = opts.pollIntervalMs ?? 1000;
    const deadline = opts.timeoutMs !== undefined ? this.now() + opts.timeoutMs : Infinity;
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      let investigation: Investigation;
      try {
        investigation = await this.getInvestigation(id);
        failures = 0;
      } catch (error) {
        const transient = error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500);
        if (!transient || opts.signal?.aborted || ++failures > (opts.maxPollFailures ?? 10)) throw error;
        opts.onPollError?.(error, failures);
        await this.pause(interval, opts.signal);
        continue;
      }
      opts.onProgress?.(investigation);
      if ((TERMINAL_STATUSES as readonly string[]).includes(investigation.status)) return investigation;
      if (this.now() > deadline) throw new UnexpectedResponseError(`investigation ${id} is still ${investigation.status} after ${opts.timeoutMs} ms`);
      await this.pause(interval, opts.signal);
    }
  }

  // ---- generic ------------------------------------------------------------------------------
  /** Any list route: follows `next_page_token` until the last page. */
  async *paginate<T>(path: string, query: Record<string, string | number | undefined>): AsyncGenerator<T> {
    let token: string | undefined;
    do {
      const page: Page<T> = await this.request({ method: 'GET', path, query: { ...query, page_token: token } });
      yield* page.items;
      token = page.next_page_token ?? undefined;
    } while (token);
  }

  /** One API call with the client's auth, retries, idempotency and error mapping. */
  async request<T>(req: RequestOptions<T>): Promise<T> {
    const idempotencyKey = req.method === 'POST' && req.auth !== false ? req.idempotencyKey ?? this.options.newIdempotencyKey?.() ?? crypto.randomUUID() : req.idempotencyKey;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchOnce(req, idempotencyKey);
      } catch (error) {
        const wait = error instanceof UnreachableError && !PERMANENT_NETWORK.has(error.code ?? '') ? retryDelay(attempt, null, this.policy) : null;
        if (wait === null) throw error;
        await this.sleep(wait);
        continue;
      }
      if (response.ok) return this.parse(req, response);
      const failure = await toApiError(response, this.now());
      const wait = RETRY_STATUS.has(response.status) ? retryDelay(attempt, failure.retryAfterSeconds, this.policy) : null;
      if (wait === null) throw failure;
      await this.sleep(wait);
    }
  }

  private action(id: string, verb: string, body: unknown, opts: { ifMatch?: string }): Promise<Investigation> {
    return this.request({ method: 'POST', path: `/v1/investigations/${encodeURIComponent(id)}:${verb}`, body, ...opts });
  }

  private async pause(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    await this.sleep(ms);
  }

  private async fetchOnce(req: RequestOptions<unknown>, idempotencyKey: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { Accept: req.raw ? `${req.raw.mediaType}, application/problem+json` : 'application/json, application/problem+json', ...req.headers };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    if (req.ifMatch) headers['If-Match'] = req.ifMatch;
    if (req.auth !== false && this.provider) headers.Authorization = `Bearer ${await this.provider.token()}`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    const url = `${this.baseUrl}${req.path}${qs.size ? `?${qs}` : ''}`;
    try {
      return await this.fetchImpl(url, { method: req.method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal });
    } catch (error) {
      // The caller's abort is not a network failure: let it through untouched.
      if (this.options.signal?.aborted) throw error;
      if (timeout.aborted) throw new UnreachableError(this.baseUrl, 'TIMEOUT');
      throw new UnreachableError(this.baseUrl, networkCode(error));
    }
  }

  private async parse<T>(req: RequestOptions<T>, response: Response): Promise<T> {
    const text = await response.text();
    if (req.raw) {
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== req.raw.mediaType) throw new UnexpectedResponseError(`${req.method} ${req.path} answered with ${type || 'no content type'}, not ${req.raw.mediaType}`);
      return (req.parse ? req.parse(text) : text) as T;
    }
    if (response.status === 204 || text === '') return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(`${req.method} ${req.path} answered ${response.status} with a body that is not JSON`);
    }
    return req.parse ? req.parse(json) : (json as T);
  }
}

async function toApiError(response: Response, now: number): Promise<ApiError> {
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), now);
  let body: unknown = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // Not JSON (a proxy or load balancer page): fall back to the status line below.
  }
  const problem: Problem =
    body && typeof body === 'object' && typeof (body as Problem).title === 'string'
      ? (body as Problem)
      : { title: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, status: response.status };
  return new ApiError(response.status, problem, retryAfterSeconds);
}

/** undici wraps socket errors as `TypeError('fetch failed', { cause })`; dual-stack connects nest them in an AggregateError. */
function networkCode(error: unknown, depth = 0): string | null {
  if (!error || typeof error !== 'object' || depth > 5) return null;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const nested = networkCode(record.cause, depth + 1) ?? (Array.isArray(record.errors) ? networkCode(record.errors[0], depth + 1) : null);
  const own = typeof record.code === 'string' ? record.code : null;
  if (nested && (nested.startsWith('E') || !own)) return nested;
  return own ?? nested;
}
