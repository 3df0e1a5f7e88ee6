import * as functions from '@google-cloud/functions-framework';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { reconcile } from '../../shared/investigations/reconciler.js';
import { getRuntime } from '../../shared/runtime/index.js';

/** Scheduled (Cloud Scheduler → Pub/Sub) safety net for stuck work and unpublished events. */
functions.cloudEvent('reconciler', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime();
  const log = rt.logger.child({ component: 'reconciler' });
  try {
    unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed trigger', error, { ce_id: cloudEvent.id });
    return;
  }
  await reconcile({
    store: rt.store,
    service: rt.service,
    publisher: rt.publisher,
    clock: rt.clock,
    logger: log,
    maxAttempts: rt.config.worker.maxAttempts,
    leaseMs: rt.config.worker.leaseSeconds * 1000,
  });
});
