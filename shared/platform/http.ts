import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { randomUUID } from 'node:crypto';
import {
  AppError,
  ForbiddenError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  InvalidPathError,
  PreconditionFailedError,
  ValidationError,
  MalformedRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedMediaTypeError,
} from './errors.js';
import type { Logger } from './logger.js';
import { fromZod, toProblem } from './problem.js';
import type { Clock } from './clock.js';
import { IDEMPOTENCY_CLAIM_STALE_MS, IDEMPOTENCY_KEY_PATTERN, bodyFingerprint, idempotencyScope, type IdempotencyStore, type StoredIdempotentResponse } from './idempotency.js';
import { preflight } from './framework-errors.js';
import { Precondition, etagOf, ifMatchSatisfied, type ResourceVersion } from './precondition.js';
import type { RateLimitClass } from '../limits/route-limits.js';

export { etagOf, Precondition, type ResourceVersion } from './precondition.js';

/**
 * The one HTTP kit: routing, request context, body reading with limits, authentication hook,
 * problem+json errors and an audit record for every request, allowed or not.
 */
export interface Caller {
  email: string;
  roles: string[];
  team: string | null;
  via: string;
  can(permission: string): boolean;
}

export type AuditOutcome = 'allowed' | 'denied' | 'rejected' | 'failed';

export interface RequestAudit {
  action: string;
  outcome: AuditOutcome;
  reason: string | null;
  status: number;
  resource: string | null;
  actor: string | null;
  roles: string[];
  request_id: string;
  trace: string | null;
  source_ip: string | null;
  method: string;
  path: string;
}

export interface HttpDeps {
  logger: Logger;
  clock: Clock;
  maxBodyBytes: number;
  identify(headers: IncomingHttpHeaders): Promise<Caller>;
  audit(record: RequestAudit): Promise<void>;
  /** Where POST responses are kept for `Idempotency-Key` replays; without one keys are only validated. */
  idempotency?: IdempotencyStore;
  /** Per-principal rate limit of the route (shared/limits/route-limits.ts), once the caller is known; throws 429. */
  rateLimit?(route: Route, ctx: RequestContext): Promise<void>;
  /** Sees every response the kit sends (contract tests record them); never changes it. */
  onResponse?(route: Route | undefined, status: number, result: HttpResult): void;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body sent as is instead of JSON (e.g. a Markdown or HTML report); name its Content-Type in `headers`. */
  text?: string;
}

export class RequestContext {
  readonly params: Record<string, string>;
  caller: Caller | null = null;
  /** Set by handlers so the audit record names what was touched and why it was refused. */
  resource: string | null = null;
  auditReason: string | null = null;
  /**
   * The request's `If-Match` on a route that declares `version`: the handler passes it to the
   * store's write, which checks it inside its transaction (shared/platform/precondition.ts).
   */
  precondition: Precondition | null = null;

  constructor(
    readonly req: Request,
    readonly requestId: string,
    readonly trace: string | null,
    readonly log: Logger,
    params: Record<string, string>,
    private readonly deps: HttpDeps,
    /** The matched route: its declared schemas are the only ones its handler may validate with. */
    readonly route?: Route,
  ) {
    this.params = params;
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  get query(): URLSearchParams {
    return new URL(this.req.originalUrl ?? this.req.url, 'http://x').searchParams;
  }

  get sourceIp(): string | null {
    return this.req.ip ?? this.req.socket?.remoteAddress ?? null;
  }

  now(): Date {
    return this.deps.clock.now();
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }

  /** The authenticated caller; routes declared `auth: 'required'` always have one. */
  get who(): Caller {
    if (!this.caller) throw new UnauthenticatedError('Authentication required.');
    return this.caller;
  }

  /** Deny by default: throws 403 unless the caller's roles grant the permission. */
  require(permission: string): Caller {
    const caller = this.who;
    if (!caller.can(permission)) {
      this.auditReason = `missing permission ${permission}`;
      throw new ForbiddenError(permission);
    }
    return caller;
  }

  /** Parses and validates the JSON body against a strict zod schema, within the size limit. */
  body<T extends z.ZodType>(schema: T): z.infer<T> {
    sameAsDeclared(this.route, 'body', schema);
    const raw = rawBody(this.req);
    if (raw.length > this.deps.maxBodyBytes) throw new PayloadTooLargeError(this.deps.maxBodyBytes);
    let value: unknown = {};
    if (raw.length > 0) {
      const type = String(this.req.headers['content-type'] ?? '');
      if (!/^application\/(.+\+)?json\b/i.test(type)) throw new UnsupportedMediaTypeError();
      let text: string;
      try {
        // Strict: invalid UTF-8 is refused, not silently turned into U+FFFD and stored.
        text = STRICT_UTF8.decode(raw);
      } catch {
        throw new MalformedRequestError('The body is not valid UTF-8.');
      }
      try {
        value = JSON.parse(text);
      } catch {
        throw new MalformedRequestError('The body is not valid JSON.');
      }
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw fromZod(parsed.error);
    return parsed.data;
  }

  /** Validates the query string against the route's declared (strict) query schema. */
  queryOf<T extends z.ZodType>(schema: T): z.infer<T> {
    sameAsDeclared(this.route, 'query', schema);
    const parsed = schema.safeParse(Object.fromEntries(this.query));
    if (!parsed.success) throw fromZod(parsed.error, 'query');
    return parsed.data;
  }
}

/**
 * One source of truth: the OpenAPI document is generated from `route.request`, so a handler that
 * validated with any other schema would make the document lie. A declared route must use its own.
 */
function sameAsDeclared(route: Route | undefined, part: 'body' | 'query', schema: z.ZodType): void {
  const declared = route?.request?.[part];
  if (route?.request && declared !== schema) {
    throw new Error(`route ${route.method} ${route.path} validates its ${part} with a schema it does not declare`);
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function rawBody(req: Request): Buffer {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  if (Buffer.isBuffer(req.body)) return req.body;
  if (typeof req.body === 'string') return Buffer.from(req.body);
  return Buffer.alloc(0);
}

/** Request parts a route validates; the OpenAPI document (shared/api/openapi.ts) is built from these same objects. */
export interface RouteRequest {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

export interface ResponseSpec {
  description?: string;
  /** Default `application/json`. */
  contentType?: string;
  schema?: z.ZodType;
  /** Response headers worth documenting, name → description. */
  headers?: Record<string, string>;
}

/** Status → JSON body schema, a fuller spec, or null for no body (204). Errors are problem+json and need not be listed. */
export type RouteResponses = Record<number, z.ZodType | ResponseSpec | null>;

export interface RouteDeprecation {
  /** When the route was deprecated (the `Deprecation` header, RFC 9745). */
  since: Date;
  /** When it stops answering (the `Sunset` header, RFC 8594); at least 6 months after `since` for /v1. */
  sunset: Date;
  /** The successor, sent as `Link: <...>; rel="successor-version"`. */
  successor?: string;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path template, e.g. `/v1/investigations/{id}:cancel`. */
  path: string;
  /** Audit action name, e.g. `investigations.cancel`. */
  action: string;
  auth: 'required' | 'none';
  handle(ctx: RequestContext): Promise<HttpResult>;
  summary?: string;
  description?: string;
  tags?: string[];
  request?: RouteRequest;
  responses?: RouteResponses;
  deprecated?: RouteDeprecation;
  /** Left out of the OpenAPI document (the document and docs routes themselves are listed; this is for internal ones). */
  internal?: boolean;
  /**
   * Per-principal rate limit class (shared/limits/route-limits.ts; the limits are in config, the
   * table in docs/operations.md). Writes are `write` unless they declare a stricter class; reads
   * are unlimited unless they declare one (lists, searches, reports: `expensive-read`).
   */
  rateLimit?: RateLimitClass;
  /**
   * POST only: `kit` (default) stores and replays responses per Idempotency-Key; `handler` when the
   * use case does it itself inside its own transaction (investigation create).
   */
  idempotency?: 'kit' | 'handler';
  /**
   * Optimistic concurrency for updates: the current version of the resource the request changes,
   * or null when it does not exist (the handler then answers 404). With `If-Match`, a stale ETag is 412.
   * Must check the permission itself (it runs before the handler).
   */
  version?(ctx: RequestContext): Promise<ResourceVersion | null>;
}

/** A JSON body carrying its own version (`updated_at` and an id-like field) gets an ETag. */
function versionOfBody(body: unknown): ResourceVersion | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  const id = b.id ?? b.email ?? b.name;
  return typeof id === 'string' && typeof b.updated_at === 'string' ? { id, updated_at: b.updated_at } : null;
}

/** `Deprecation`, `Sunset` and `Link` headers of a deprecated route. */
export function deprecationHeaders(d: RouteDeprecation): Record<string, string> {
  return {
    Deprecation: `@${Math.floor(d.since.getTime() / 1000)}`,
    Sunset: d.sunset.toUTCString(),
    ...(d.successor ? { Link: `<${d.successor}>; rel="successor-version"` } : {}),
  };
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!);
        return '([^/:]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { ...route, regex: new RegExp(`^${pattern}$`), names };
}

function traceOf(req: Request): string | null {
  const cloud = req.headers['x-cloud-trace-context'];
  if (typeof cloud === 'string' && cloud) return cloud.split('/')[0] ?? null;
  const tp = req.headers['traceparent'];
  if (typeof tp === 'string') return tp.split('-')[1] ?? null;
  return null;
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'allowed';
  if (status === 401 || status === 403) return 'denied';
  if (status < 500) return 'rejected';
  return 'failed';
}

const SAFE_REQUEST_ID = /^[\w.-]{8,64}$/;

/** A functions-framework HTTP handler; `reject` answers a request the framework could not read. */
export interface HttpHandler {
  (req: Request, res: Response): Promise<void>;
  reject(req: IncomingMessage, res: ServerResponse, error: unknown): Promise<void>;
}

/** Builds a functions-framework HTTP handler from a route table. */
export function createHttpHandler(routes: Route[], deps: HttpDeps): HttpHandler {
  const compiled = routes.map(compile);
  const handle = handleRequest(compiled, deps);
  // Safety net: nothing escapes to the framework's crash handler (which would answer with text).
  const safely = async (req: Request, res: Response, refused?: { error: unknown }) => {
    try {
      await handle(req, res, refused);
    } catch (error) {
      deps.logger.error('request handling failed', error);
      if (!res.headersSent) {
        const { problem } = toProblem(error);
        res.statusCode = 500;
        res.setHeader('Content-Type', 'application/problem+json');
        res.end(JSON.stringify(problem));
      }
    }
  };
  const handler = ((req: Request, res: Response) => safely(req, res)) as HttpHandler;
  handler.reject = (req, res, error) => safely(req as Request, res as Response, { error });
  return handler;
}

/**
 * The one id schema every `{param}` passes before a handler (and so a store path) sees it: valid
 * percent-encoded UTF-8, 1-200 characters of letters, digits and `._@+-`, starting with a letter
 * or digit — so no `/` (a Firestore path separator), no `.`/`..`, no `__reserved__` names.
 */
const PATH_PARAM = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

function decodePathParams(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, encoded] of Object.entries(raw)) {
    let value: string;
    try {
      value = decodeURIComponent(encoded);
    } catch {
      throw new InvalidPathError('The path is not valid percent-encoded UTF-8.', name);
    }
    if (!PATH_PARAM.test(value)) throw new InvalidPathError(`The path parameter "${name}" is not a valid id (1-200 letters, digits or ._@+-, starting with a letter or digit).`, name);
    out[name] = value;
  }
  return out;
}

function handleRequest(compiled: CompiledRoute[], deps: HttpDeps) {
  /** `refused`: the framework could not read the request (framework-errors.ts); answered like any refusal. */
  return async (req: Request, res: Response, refused?: { error: unknown }): Promise<void> => {
    const started = process.hrtime.bigint();
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && SAFE_REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const trace = traceOf(req);
    const log = deps.logger.child({ requestId, trace: trace ?? undefined });
    const path = (req.originalUrl ?? req.url).split('?')[0] ?? '/';
    const method = req.method.toUpperCase();

    let route: CompiledRoute | undefined;
    let params: Record<string, string> = {};
    const allowed: string[] = [];
    for (const candidate of compiled) {
      const m = candidate.regex.exec(path);
      if (!m) continue;
      if (candidate.method !== method) {
        allowed.push(candidate.method);
        continue;
      }
      route = candidate;
      params = Object.fromEntries(candidate.names.map((n, i) => [n, m[i + 1]!]));
      break;
    }
    const ctx = new RequestContext(req, requestId, trace, log, {}, deps, route);
    let result: HttpResult;
    try {
      if (refused) throw refused.error;
      if (!route) throw allowed.length ? new MethodNotAllowedError(allowed) : new RouteNotFoundError();
      Object.assign(ctx.params, decodePathParams(params));
      const early = preflight(req.headers, deps.maxBodyBytes);
      if (early) throw early;
      if (route.auth === 'required') ctx.caller = await deps.identify(req.headers);
      if (ctx.caller && deps.rateLimit) await deps.rateLimit(route, ctx);
      result = await runRoute(route, ctx, deps, method, path);
    } catch (error) {
      const { problem, headers, known } = toProblem(error, requestId);
      if (!known) log.error('unhandled error', error, { route: route?.action });
      else if (error instanceof AppError && !ctx.auditReason) ctx.auditReason = error.type;
      result = { status: problem.status, body: problem, headers: { ...headers, 'Content-Type': 'application/problem+json' } };
    }

    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const record: RequestAudit = {
      action: route?.action ?? 'unrouted',
      outcome: outcomeOf(result.status),
      reason: result.status >= 400 ? ctx.auditReason ?? `http ${result.status}` : null,
      status: result.status,
      resource: ctx.resource,
      actor: ctx.caller?.email ?? null,
      roles: ctx.caller?.roles ?? [],
      request_id: requestId,
      trace,
      source_ip: ctx.sourceIp,
      method,
      path: route?.path ?? path,
    };
    try {
      await deps.audit(record);
    } catch (error) {
      // Fail closed: an action we cannot audit is not confirmed to the caller.
      log.error('audit write failed', error, { action: record.action });
      const { problem, headers } = toProblem(new UnavailableError('The audit log is unavailable; the request outcome could not be recorded.'), requestId);
      result = { status: 503, body: problem, headers: { ...headers, 'Content-Type': 'application/problem+json' } };
    }
    if (route?.deprecated) result = { ...result, headers: { ...deprecationHeaders(route.deprecated), ...result.headers } };
    deps.onResponse?.(route, result.status, result);
    // Plain Node response API: a request refused before Express ran has no Express helpers.
    res.statusCode = result.status;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
    if (result.text !== undefined) {
      if (!res.getHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(result.text);
    } else if (result.body === undefined) res.end();
    else {
      if (!res.getHeader('Content-Type')) res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify(result.body));
    }

    log.info('request', { method, route: route?.path ?? 'unrouted', status: result.status, duration_ms: Math.round(durationMs) });
  };
}

/** The conventions every route gets: If-Match preconditions, Idempotency-Key claims and replays, ETags. */
async function runRoute(route: Route, ctx: RequestContext, deps: HttpDeps, method: string, path: string): Promise<HttpResult> {
  const ifMatch = ctx.header('if-match');
  if (ifMatch !== undefined && route.version) {
    // Early answer for a stale ETag; the write re-checks in its own transaction (ctx.precondition).
    const current = await route.version(ctx);
    if (current && !ifMatchSatisfied(ifMatch, etagOf(current))) throw new PreconditionFailedError(etagOf(current));
    ctx.precondition = new Precondition(ifMatch);
  }

  const key = method === 'POST' ? ctx.header('idempotency-key') : undefined;
  if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError('Idempotency-Key must be 1-255 visible ASCII characters.', [{ path: 'header.Idempotency-Key', message: 'invalid' }]);
  }
  const store = key !== undefined && route.idempotency !== 'handler' ? deps.idempotency : undefined;
  let claim: { scope: string; token: string; fingerprint: string } | null = null;
  if (store && key !== undefined) {
    const scope = idempotencyScope(ctx.caller?.email ?? 'anonymous', method, path, key);
    const fingerprint = bodyFingerprint(rawBody(ctx.req));
    const investigationId = path.startsWith('/v1/investigations/') ? ctx.params.id ?? null : null;
    const got = await claimKey(store, scope, { request_hash: fingerprint, created_at: ctx.now().toISOString(), investigation_id: investigationId }, ctx);
    if ('replay' in got) return got.replay;
    claim = { scope, token: got.token, fingerprint };
  }

  let result: HttpResult;
  try {
    result = await route.handle(ctx);
    if (ctx.precondition && !ctx.precondition.checked && result.status < 300) {
      throw new Error(`route ${route.method} ${route.path} declares version but its write did not check ctx.precondition`);
    }
  } catch (error) {
    if (store && claim) await releaseClaim(store, claim, ctx, route);
    throw error;
  }
  const version = result.status < 300 ? versionOfBody(result.body) : null;
  const withTag: HttpResult = version && !result.headers?.ETag ? { ...result, headers: { ...result.headers, ETag: etagOf(version) } } : result;

  if (store && claim) {
    if (result.status < 200 || result.status >= 300) {
      await releaseClaim(store, claim, ctx, route);
      return withTag;
    }
    try {
      await store.complete(claim.scope, claim.token, {
        request_hash: claim.fingerprint,
        status: withTag.status,
        body: withTag.body === undefined ? null : JSON.stringify(withTag.body),
        text: withTag.text ?? null,
        headers: withTag.headers ?? {},
        created_at: ctx.now().toISOString(),
        investigation_id: path.startsWith('/v1/investigations/') ? ctx.params.id ?? null : null,
      });
    } catch (error) {
      // The effect happened; failing the request now would invite a retry that repeats it. The
      // pending claim stays until it is stale, so a retry meanwhile gets 409, not a second effect.
      ctx.log.warn('idempotency record not stored', { route: route.action, error: String(error) });
    }
  }
  return withTag;
}

/** How long a duplicate waits (ms, one poll after each) for the first request with its key to finish. */
const IN_PROGRESS_WAITS_MS = [20, 40, 80, 160, 320];

/**
 * Claims the key for this request, or answers from whoever has it: the stored response of a
 * finished one (replay), 422 for another body, and for one still running, a short wait for its
 * answer, then 409 `idempotency-key-in-progress` with Retry-After.
 */
async function claimKey(
  store: IdempotencyStore,
  scope: string,
  request: { request_hash: string; created_at: string; investigation_id: string | null },
  ctx: RequestContext,
): Promise<{ token: string } | { replay: HttpResult }> {
  for (let attempt = 0; ; attempt++) {
    const seen = (attempt > 0 ? await store.peek(scope) : null) ?? (await store.claim(scope, request, ctx.now().getTime(), IDEMPOTENCY_CLAIM_STALE_MS));
    if (seen.state === 'claimed') return { token: seen.token };
    if (seen.state === 'done') {
      if (seen.record.request_hash !== request.request_hash) throw new IdempotencyConflictError();
      return { replay: replayOf(seen.record) };
    }
    if (seen.request_hash !== request.request_hash) throw new IdempotencyConflictError();
    const wait = IN_PROGRESS_WAITS_MS[attempt];
    if (wait === undefined) throw new IdempotencyInProgressError(1);
    await new Promise((r) => setTimeout(r, wait));
  }
}

function replayOf(stored: StoredIdempotentResponse): HttpResult {
  return {
    status: stored.status,
    ...(stored.body !== null ? { body: JSON.parse(stored.body) } : {}),
    ...(stored.text !== null ? { text: stored.text } : {}),
    headers: { ...stored.headers, 'Idempotent-Replayed': 'true' },
  };
}

/** A failed run gives its key back, so the caller's retry (same key) runs instead of waiting out the claim. */
async function releaseClaim(store: IdempotencyStore, claim: { scope: string; token: string }, ctx: RequestContext, route: Route): Promise<void> {
  try {
    await store.release(claim.scope, claim.token);
  } catch (error) {
    ctx.log.warn('idempotency claim not released; it expires on its own', { route: route.action, error: String(error) });
  }
}
