import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { handleIntakePush } from '../../shared/investigations/intake.js';
import { getRuntime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';

// Start-up check against this function's schema (functions/manifest.json): a config error stops
// the instance before it takes traffic, with a message naming the field.
loadFunctionConfig('intake');

/**
 * Investigation intake (HTTP, the endpoint of each requesting system's Pub/Sub push subscription;
 * it verifies the push's OIDC token itself, see docs/decisions/0010). Wiring only.
 */
functions.http('intake', async (req, res) => {
  const rt = getRuntime('intake');
  try {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').end();
      return;
    }
    const result = await handleIntakePush(
      { headers: req.headers, body: req.body, sourceIp: req.ip ?? null },
      { service: rt.service, audit: rt.audit, logger: rt.logger, identify: (h) => rt.identify(h) },
    );
    res.status(result.status).json(result.body);
  } catch (error) {
    // Transient (store, rate limit, audit): a non-2xx makes Pub/Sub redeliver later.
    rt.logger.error('intake failed; the message will be redelivered', error);
    const status = (error as { status?: number }).status === 429 ? 429 : 503;
    res.status(status).json({ outcome: 'retry' });
  }
});
