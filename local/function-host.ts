import type { Server } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Express, NextFunction, Request, Response } from 'express';
import { AppError, MalformedRequestError, PayloadTooLargeError } from '../shared/platform/errors.js';
import type { Logger } from '../shared/platform/logger.js';
import { toProblem } from '../shared/platform/problem.js';

/**
 * Hosts a registered function in the Functions Framework's own server (the same request parsing
 * Cloud Run functions applies), with one addition: errors raised before our handler runs (e.g.
 * body-parser on malformed JSON) become problem+json instead of Express's HTML page.
 */
export function hostFunction(name: string, logger: Logger): Server {
  const server = getTestServer(name);
  const app = server.listeners('request')[0] as unknown as Express;
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    const mapped =
      err instanceof AppError
        ? err
        : e?.type === 'entity.parse.failed'
          ? new MalformedRequestError('The body is not valid JSON.')
          : e?.type === 'entity.too.large'
            ? new PayloadTooLargeError(0)
            : err;
    const { problem, headers, known } = toProblem(mapped);
    if (!known) logger.error('function host error', err, { function: name });
    res.status(problem.status).set({ ...headers, 'Content-Type': 'application/problem+json' }).send(JSON.stringify(problem));
  });
  return server;
}
