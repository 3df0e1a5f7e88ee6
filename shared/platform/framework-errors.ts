import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, InvalidPathError, MalformedRequestError, PayloadTooLargeError, RouteNotFoundError, UnsupportedContentEncodingError, UnsupportedMediaTypeError } from './errors.js';
import { toProblem } from './problem.js';

/**
 * The Functions Framework parses every request body (body-parser, up to 1 GiB, inflating
 * gzip/deflate/br) before our function runs, and hands any failure to Express's final handler,
 * which answers with an HTML page. The framework has no hook for this (upstream
 * functions-framework-nodejs#686), so this module installs one on the Express instance the
 * framework itself uses: each app it creates gets a final callback that sends the error to the
 * registered HTTP kit (problem+json, request id, audit record), exactly as in `npm start`,
 * which mounts the same servers. It also refuses, before any parsing, what we never accept:
 * compressed bodies (no inflation bombs) and bodies declared larger than the kit's limit.
 * docs/decisions/0014.
 */
export interface FrameworkErrorSink {
  /** The kit's body limit, checked against Content-Length before the framework reads anything. */
  maxBodyBytes: number;
  /** Answers the request as the kit answers any refused request (an AppError, or an unexpected error → 500). */
  reject(req: IncomingMessage, res: ServerResponse, error: unknown): void;
}

let sink: FrameworkErrorSink | null = null;

/** The HTTP kit registers itself here (one HTTP function per process in production). */
export function routeFrameworkErrorsTo(next: FrameworkErrorSink | null): void {
  sink = next;
}

/** What a body-parser / Express failure means to a caller; an unexpected one is returned as is (→ logged 500). */
export function frameworkErrorToAppError(error: unknown, maxBodyBytes: number): unknown {
  if (error instanceof AppError) return error;
  // Express decodes the catch-all route's path parameter and fails on bad percent-encoding.
  if (error instanceof URIError) return new InvalidPathError('The path is not valid percent-encoded UTF-8.');
  const e = error as { type?: unknown; status?: unknown; statusCode?: unknown; code?: unknown } | null;
  const type = typeof e?.type === 'string' ? e.type : '';
  switch (type) {
    case 'entity.parse.failed':
      return new MalformedRequestError('The body could not be parsed as the Content-Type it declares.');
    case 'entity.too.large':
      return new PayloadTooLargeError(maxBodyBytes);
    case 'encoding.unsupported':
      return new UnsupportedContentEncodingError('unknown');
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError();
    case 'request.aborted':
    case 'request.size.invalid':
    case 'entity.verify.failed':
      return new MalformedRequestError('The body could not be read completely.');
  }
  const status = Number(e?.status ?? e?.statusCode);
  if (status >= 400 && status < 500) return new MalformedRequestError('The request could not be read.');
  // Anything else is ours to fix: the kit maps it to a logged 500 without details.
  return error;
}

/** A reason to refuse the request before the framework parses it, or null. */
export function preflight(headers: IncomingMessage['headers'], maxBodyBytes: number): AppError | null {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding && encoding !== 'identity') return new UnsupportedContentEncodingError(encoding);
  const length = headers['content-length'];
  if (length !== undefined && !/^\d+$/.test(String(length))) return new MalformedRequestError('Content-Length is not a number.');
  if (Number(length ?? 0) > maxBodyBytes) return new PayloadTooLargeError(maxBodyBytes);
  return null;
}

/** Used when no kit is registered (event-only processes): problem+json, never HTML. */
function answerPlain(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const { problem, headers } = toProblem(error);
  res.writeHead(problem.status, { ...headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(problem));
}

const INSTALLED = Symbol.for('tsi.framework-errors');
/** Event functions take CloudEvents of up to Pub/Sub's 10 MB message size; nothing legitimate is larger. */
const EVENT_BODY_LIMIT = 16 * 1024 * 1024;

type Handle = (this: unknown, req: IncomingMessage, res: ServerResponse, callback?: (err?: unknown) => void) => void;

function install(): void {
  // The framework's own copy of Express (resolved from the framework's folder), whichever copy
  // the application would otherwise import.
  const frameworkRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  const application = frameworkRequire('express').application as { handle: Handle; [INSTALLED]?: true };
  if (application[INSTALLED]) return;
  const original = application.handle;
  application.handle = function handle(req, res, callback) {
    // A mounted sub-app passes its parent's callback: only the outermost app answers.
    if (callback) return original.call(this, req, res, callback);
    const refused = preflight(req.headers, sink?.maxBodyBytes ?? EVENT_BODY_LIMIT);
    const finish = (error: unknown) => {
      // The body was not read: drain what arrives and close the connection after the answer, since
      // what the client still sends is no longer framed by anything we will read.
      if (refused) {
        req.resume();
        res.setHeader('Connection', 'close');
      }
      if (sink) sink.reject(req, res, error);
      else answerPlain(res, error);
    };
    if (refused) return finish(refused);
    return original.call(this, req, res, (err?: unknown) => finish(err ? frameworkErrorToAppError(err, sink?.maxBodyBytes ?? EVENT_BODY_LIMIT) : new RouteNotFoundError()));
  };
  application[INSTALLED] = true;
}

install();
