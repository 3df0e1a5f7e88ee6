import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Runtime } from '../shared/runtime/index.js';
import { AppError, ForbiddenError, MalformedRequestError, PayloadTooLargeError, RouteNotFoundError } from '../shared/platform/errors.js';
import { fromZod, toProblem } from '../shared/platform/problem.js';

/**
 * The local gateway: one port for every function, standing in for the Google front end. It routes
 * `/_functions/<name>` to event functions (what Eventarc would call), `/_local/token` to the local
 * token issuer (local mode only), and everything else to the API function.
 */
export interface GatewayTargets {
  api: Server;
  functions: Record<string, Server>;
}

const TokenRequestSchema = z.strictObject({ email: z.email().max(320), ttl_seconds: z.number().int().min(60).max(12 * 3600).optional() });
const TOKEN_BODY_LIMIT = 4096;

function sendProblem(res: ServerResponse, error: unknown): void {
  const { problem, headers } = toProblem(error);
  res.writeHead(problem.status, { ...headers, 'Content-Type': 'application/problem+json' });
  res.end(JSON.stringify(problem));
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new MalformedRequestError('The body is not valid JSON.');
  }
}

async function issueLocalToken(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!rt.issuer) throw new RouteNotFoundError();
  const parsed = TokenRequestSchema.safeParse(await readSmallBody(req, TOKEN_BODY_LIMIT));
  if (!parsed.success) throw fromZod(parsed.error);
  const email = parsed.data.email.toLowerCase();
  const binding = await rt.bindings.get(email);
  const outcome = binding && binding.roles.length > 0;
  await rt.audit.write({
    actor: email,
    roles: binding?.roles ?? [],
    action: 'local.token.issue',
    resource: 'local-issuer',
    outcome: outcome ? 'allowed' : 'denied',
    reason: outcome ? null : 'principal has no role binding',
    request_id: null,
    trace: null,
    source_ip: req.socket.remoteAddress ?? null,
  });
  if (!outcome) throw new ForbiddenError(`a role binding for ${email}`);
  const ttl = parsed.data.ttl_seconds ?? 3600;
  const token = await rt.issuer.issue(email, { audience: rt.config.audience, ttlSeconds: ttl });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ token, token_type: 'Bearer', expires_at: new Date(rt.clock.now().getTime() + ttl * 1000).toISOString() }));
}

export function createGateway(rt: Runtime, targets: GatewayTargets): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const fn = /^\/_functions\/([a-z-]+)\/?$/.exec(url.pathname);
    if (fn) {
      const target = targets.functions[fn[1]!];
      if (!target) return sendProblem(res, new RouteNotFoundError());
      req.url = '/';
      target.emit('request', req, res);
      return;
    }
    if (url.pathname === '/_local/token') {
      if (req.method !== 'POST') return sendProblem(res, new RouteNotFoundError());
      issueLocalToken(rt, req, res).catch((error) => {
        if (!(error instanceof AppError)) rt.logger.error('local token endpoint failed', error);
        sendProblem(res, error);
      });
      return;
    }
    targets.api.emit('request', req, res);
  });
}
