import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { z } from 'zod';
import { complianceFor } from '../../shared/compliance/index.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { EventTypes } from '../../shared/events/model.js';
import { NotFoundError } from '../../shared/platform/errors.js';
import { getRuntime } from '../../shared/runtime/index.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';

loadFunctionConfig('erasure');

const Data = z.object({ erasure_id: z.string().min(1) });

/**
 * Erasure worker (Pub/Sub `erasure.requested`). Idempotent: a completed request is a no-op, a
 * blocked one is checked again. An unexpected failure throws so the delivery is retried.
 */
functions.cloudEvent('erasure', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('erasure');
  const log = rt.logger.child({ component: 'erasure' });
  let event;
  try {
    event = unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed event', error, { ce_id: cloudEvent.id });
    return;
  }
  const data = Data.safeParse(event.data);
  if (event.type !== EventTypes.erasureRequested || !data.success) {
    log.warn('ignoring event', { event_type: event.type });
    return;
  }
  try {
    await complianceFor(rt).erasure.execute(data.data.erasure_id);
  } catch (error) {
    if (error instanceof NotFoundError) {
      log.warn('erasure request not found; acknowledged', { erasure_id: data.data.erasure_id });
      return;
    }
    throw error;
  }
});
