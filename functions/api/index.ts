import * as functions from '@google-cloud/functions-framework';
import { auditRoutes } from '../../shared/audit/routes.js';
import { roleRoutes } from '../../shared/auth/routes.js';
import { investigationRoutes } from '../../shared/investigations/routes.js';
import { healthRoutes } from '../../shared/platform/health.js';
import { createHttpHandler } from '../../shared/platform/http.js';
import { getRuntime, type Runtime } from '../../shared/runtime/index.js';

/** The versioned REST API (`/v1/...`) plus liveness/readiness. Wiring only. */
export function buildApi(rt: Runtime) {
  const routes = [
    ...healthRoutes([
      { name: 'store', check: () => rt.store.ping() },
      { name: 'warehouse', check: () => rt.warehouse.ping() },
      { name: 'events', check: () => rt.publisher.ping() },
      { name: 'audit', check: () => rt.audit.ping() },
    ]),
    ...investigationRoutes(rt.service),
    ...auditRoutes(rt.audit),
    ...roleRoutes(rt.bindings, rt.audit),
  ];
  return createHttpHandler(routes, {
    logger: rt.logger.child({ component: 'api' }),
    clock: rt.clock,
    maxBodyBytes: rt.config.limits.maxBodyBytes,
    identify: (headers) => rt.identify(headers),
    audit: (record) => rt.audit.write(record),
  });
}

// Built on first request (cold start stays light) and rebuilt if the runtime is replaced, as the
// local stack does when it restarts inside one process.
let built: { rt: Runtime; handle: ReturnType<typeof buildApi> } | null = null;
functions.http('api', (req, res) => {
  const rt = getRuntime();
  if (built?.rt !== rt) built = { rt, handle: buildApi(rt) };
  return built.handle(req, res);
});
