import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import { routeFrameworkErrorsTo } from '../../shared/platform/framework-errors.js';
import { auditRoutes } from '../../shared/audit/routes.js';
import { roleRoutes } from '../../shared/auth/routes.js';
import { flagRoutes } from '../../shared/flags/routes.js';
import { investigationRoutes } from '../../shared/investigations/routes.js';
import { adhocQueryRoutes } from '../../shared/guard/routes.js';
import { healthRoutes } from '../../shared/platform/health.js';
import { reportRoutes } from '../../shared/reports/routes.js';
import { createHttpHandler, type Route } from '../../shared/platform/http.js';
import { apiDocRoutes } from '../../shared/api/routes.js';
import { responseObservers } from '../../shared/api/observe.js';
import { FirestoreIdempotencyStore } from '../../shared/platform/idempotency.js';
import { rateLimitsFrom, routeRateLimiter } from '../../shared/limits/route-limits.js';
import { webhookRoutes } from '../../shared/webhooks/routes.js';
import { complianceFor } from '../../shared/compliance/index.js';
import { complianceRoutes } from '../../shared/compliance/routes.js';
import { getRuntime, type Runtime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';
import { UnavailableError } from '../../shared/platform/errors.js';
import { rootLogger } from '../../shared/platform/logger.js';
import { toProblem } from '../../shared/platform/problem.js';
import type { ServerResponse } from 'node:http';

// Start-up check against this function's schema (functions/manifest.json): a config error stops
// the instance before it takes traffic, with a message naming the field.
const fnConfig = loadFunctionConfig('api');

/** Every route the api function serves; the OpenAPI document and the contract tests read this list. */
export function apiRoutes(rt: Runtime): Route[] {
  const routes: Route[] = [
    ...healthRoutes([
      { name: 'store', check: () => rt.store.ping() },
      { name: 'warehouse', check: () => rt.warehouse.ping() },
      { name: 'events', check: () => rt.publisher.ping() },
      { name: 'audit', check: () => rt.audit.ping() },
      { name: 'keys', check: () => rt.dataProtection.checkKeys() },
    ]),
    ...investigationRoutes(rt.service),
    ...adhocQueryRoutes({ service: rt.service, store: rt.store, warehouse: rt.warehouse, clock: rt.clock, isEnabled: () => rt.flags.isEnabled('adhoc_sql') }),
    ...reportRoutes({ service: rt.service, clock: rt.clock }),
    ...auditRoutes(rt.audit),
    ...roleRoutes(rt.bindings, rt.audit),
    ...flagRoutes(rt.flags, rt.audit),
    ...webhookRoutes(rt.webhooks),
    ...complianceRoutes(() => complianceFor(rt)),
  ];
  routes.push(...apiDocRoutes(() => routes));
  return routes;
}

/** The versioned REST API (`/v1/...`) plus liveness/readiness. Wiring only. */
export function buildApi(rt: Runtime) {
  return createHttpHandler(apiRoutes(rt), {
    logger: rt.logger.child({ component: 'api' }),
    clock: rt.clock,
    maxBodyBytes: rt.config.limits.maxBodyBytes,
    identify: (headers) => rt.identify(headers),
    rateLimit: routeRateLimiter(rt.rateLimiter, rateLimitsFrom(rt.config)),
    audit: (record) => rt.audit.write(record),
    idempotency: new FirestoreIdempotencyStore(() => rt.firestore()),
    onResponse: (route, status, result) => {
      for (const observe of responseObservers) observe(route, status, result);
    },
  });
}

// Built on first request (cold start stays light) and rebuilt if the runtime is replaced, as the
// local stack does when it restarts inside one process.
let built: { rt: Runtime; handle: ReturnType<typeof buildApi> } | null = null;
function current(): ReturnType<typeof buildApi> {
  const rt = getRuntime('api');
  if (built?.rt !== rt) built = { rt, handle: buildApi(rt) };
  return built.handle;
}

/** A runtime that cannot be built (bad adapter wiring) answers 503 problem+json; it must not crash the instance. */
function withKit(use: (kit: ReturnType<typeof buildApi>) => Promise<void>, res: ServerResponse): Promise<void> {
  let kit: ReturnType<typeof buildApi>;
  try {
    kit = current();
  } catch (error) {
    rootLogger.error('api runtime unavailable', error);
    const { problem, headers } = toProblem(new UnavailableError('The service is misconfigured and cannot serve requests.'));
    if (!res.headersSent) res.writeHead(503, { ...headers, 'Content-Type': 'application/problem+json' }).end(JSON.stringify(problem));
    return Promise.resolve();
  }
  return use(kit);
}

functions.http('api', (req, res) => withKit((kit) => kit(req, res), res));
// Requests the framework cannot read (bad JSON, oversize, compressed) are answered and audited by the same kit.
routeFrameworkErrorsTo({
  // The live runtime's limit (the local stack builds it from its own environment); start-up config
  // only when the runtime cannot be built (that request is answered 503 anyway).
  get maxBodyBytes() {
    try {
      return getRuntime('api').config.limits.maxBodyBytes;
    } catch {
      return fnConfig.config.limits.maxBodyBytes;
    }
  },
  reject: (req, res, error) => void withKit((kit) => kit.reject(req, res, error), res),
});
