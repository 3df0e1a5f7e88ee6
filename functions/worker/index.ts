import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { EventTypes, RequestedDataSchema } from '../../shared/events/model.js';
import { runRequested } from '../../shared/investigations/worker.js';
import { getRuntime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';

// Start-up check against this function's schema (functions/manifest.json): a config error stops
// the instance before it takes traffic, with a message naming the field.
loadFunctionConfig('worker');

/**
 * Investigation worker (Pub/Sub via Eventarc). Malformed events are logged and acknowledged
 * (retrying cannot fix them); an unexpected failure throws so the delivery is retried.
 */
functions.cloudEvent('worker', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('worker');
  const log = rt.logger.child({ component: 'worker' });
  let event;
  try {
    event = unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed event', error, { ce_id: cloudEvent.id });
    return;
  }
  if (event.type !== EventTypes.investigationRequested) {
    log.warn('ignoring event of another type', { event_type: event.type });
    return;
  }
  const data = RequestedDataSchema.safeParse(event.data);
  if (!data.success) {
    log.error('dropping requested event without investigation_id', undefined, { event_id: event.id });
    return;
  }
  await runRequested(data.data.investigation_id, event, {
    store: rt.store,
    service: rt.service,
    warehouse: rt.warehouse,
    clock: rt.clock,
    logger: rt.logger,
    leaseMs: rt.config.worker.leaseSeconds * 1000,
    planner: rt.planner,
    rolesOf: async (principal) => (await rt.bindings.get(principal))?.roles ?? [],
  });
});
