import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { specOf } from '../../shared/events/catalogue.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { EventTypes } from '../../shared/events/model.js';
import { getRuntime } from '../../shared/runtime/index.js';

/**
 * Webhook dispatcher (Pub/Sub via Eventarc, every public event on the events topic, plus the
 * scheduler tick that sweeps due retries). Invalid events are logged and acknowledged: a
 * redelivery cannot fix them. An unexpected failure throws, so the event is redelivered; the
 * fan-out is keyed on the event id, so a redelivery never sends a webhook twice.
 */
functions.cloudEvent('webhooks', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime();
  const log = rt.logger.child({ component: 'webhooks' });
  let event;
  try {
    event = unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping invalid event', error, { ce_id: cloudEvent.id });
    return;
  }
  // Kill switch: while off, nothing is fanned out or sent; pending retries wait for it.
  if (!(await rt.flags.isEnabled('webhooks'))) {
    log.debug('webhooks flag is off', { event_type: event.type });
    return;
  }
  if (event.type === EventTypes.schedulerReconcile) {
    await rt.webhooks.sweep();
    return;
  }
  if (specOf(event.type)?.audience !== 'public') {
    log.debug('not a webhook event type', { event_type: event.type });
    return;
  }
  await rt.webhooks.fanOut(event);
});
