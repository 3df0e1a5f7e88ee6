import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { reconcile } from '../../shared/investigations/reconciler.js';
import { getRuntime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';

// Start-up check against this function's schema (functions/manifest.json): a config error stops
// the instance before it takes traffic, with a message naming the field.
loadFunctionConfig('reconciler');

/** Scheduled (Cloud Scheduler → Pub/Sub) safety net for stuck work and unpublished events. */
functions.cloudEvent('reconciler', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('reconciler');
  const log = rt.logger.child({ component: 'reconciler' });
  try {
    unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed trigger', error, { ce_id: cloudEvent.id });
    return;
  }
  await reconcile({
    db: rt.firestore(),
    store: rt.store,
    service: rt.service,
    publisher: rt.publisher,
    clock: rt.clock,
    logger: log,
    maxAttempts: rt.config.worker.maxAttempts,
    leaseMs: rt.config.worker.leaseSeconds * 1000,
  });
});
