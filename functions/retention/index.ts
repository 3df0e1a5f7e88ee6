import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { complianceFor } from '../../shared/compliance/index.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { EventTypes } from '../../shared/events/model.js';
import { getRuntime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';

loadFunctionConfig('retention');

/**
 * Scheduled retention sweep (Cloud Scheduler → Pub/Sub `scheduler.retention` → here). Also re-drives
 * open erasure requests (a hold may have been released, a delivery lost). Wiring only.
 */
functions.cloudEvent('retention', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('retention');
  const log = rt.logger.child({ component: 'retention' });
  let event;
  try {
    event = unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed trigger', error, { ce_id: cloudEvent.id });
    return;
  }
  if (event.type !== EventTypes.schedulerRetention) {
    log.warn('ignoring event of another type', { event_type: event.type });
    return;
  }
  const c = complianceFor(rt);
  await c.retention.run({ dryRun: event.data.dry_run === true });
  await c.erasure.redrive();
});
