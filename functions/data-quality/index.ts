import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { EventTypes } from '../../shared/events/model.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';
import { runQualityJob } from '../../shared/quality/job.js';
import { getRuntime } from '../../shared/runtime/index.js';

loadFunctionConfig('data-quality');

/**
 * Scheduled data-quality checks (Cloud Scheduler → `scheduler.data_quality` → here): warehouse
 * contract, freshness and volume through the guard, stuck work and the outbox backlog in
 * Firestore. Report in `quality_reports/latest`; a failed check makes `job.run` fail, which pages
 * (docs/operations.md#job-failures). Wiring only: shared/quality/.
 */
functions.cloudEvent('dataQuality', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('data-quality');
  const log = rt.logger.child({ component: 'data-quality' });
  let event;
  try {
    event = unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed trigger', error, { ce_id: cloudEvent.id });
    return;
  }
  if (event.type !== EventTypes.schedulerDataQuality) {
    log.warn('ignoring event of another type', { event_type: event.type });
    return;
  }
  // Without data protection: the job only lists ids and timestamps, it never reads or writes PII.
  const store = new InvestigationStore(rt.firestore(), undefined, rt.clock);
  await runQualityJob({ warehouse: rt.warehouse, store, db: rt.firestore(), audit: rt.audit, clock: rt.clock, logger: log, requestId: cloudEvent.id });
});
