import { Logger, REPORTED_ERROR_EVENT } from '../../shared/platform/logger.js';
import { METRICS, recordGuardRefusal, recordInvestigationRun } from '../../shared/platform/metrics.js';

function capture(context = {}, projectId?: string, service?: { service: string; version?: string }) {
  const lines: string[] = [];
  const log = new Logger(context, (l) => lines.push(l), 'DEBUG', projectId, service);
  return { log, entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>) }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('logger: Cloud Logging structured format', () => {
  it('puts severity, the full trace name and the request id on every line, also in child loggers', () => {
    const { log, entries } = capture({ requestId: 'req-42', trace: '0af7651916cd43dd8448eb211c80319c' }, 'tsi-prod');
    log.child({ component: 'api' }).warn('slow');
    const [e] = entries();
    expect(e).toMatchObject({
      severity: 'WARNING',
      message: 'slow',
      'logging.googleapis.com/trace': 'projects/tsi-prod/traces/0af7651916cd43dd8448eb211c80319c',
      'logging.googleapis.com/labels': { component: 'api', request_id: 'req-42' },
    });
  });

  it("reports errors in Error Reporting's format: @type, stack trace in message, serviceContext", () => {
    const { log, entries } = capture({ component: 'worker' }, 'p', { service: 'tsi-worker', version: 'tsi-worker-00007-abc' });
    log.error('run failed for jane@example.com', new Error('disk full'));
    const [e] = entries();
    expect(e!['@type']).toBe(REPORTED_ERROR_EVENT);
    expect(e!.message).toMatch(/^run failed for \[PII\]\nError: disk full\n\s+at /);
    expect(e!.serviceContext).toEqual({ service: 'tsi-worker', version: 'tsi-worker-00007-abc' });
    expect(e!.severity).toBe('ERROR');
  });

  it('does not mark an error without a stack as a reported error event', () => {
    const { log, entries } = capture();
    log.error('dropping malformed event', undefined, { ce_id: 'x' });
    expect(entries()[0]!['@type']).toBeUndefined();
  });

  it('writes metrics as a structured metric field the log-based metrics read', () => {
    const { log, entries } = capture({ requestId: 'r1' });
    recordInvestigationRun(log, 'failed', 1234.4);
    recordGuardRefusal(log, 'no_select_star');
    const [run, refusal] = entries();
    expect(run!.metric).toEqual({ name: METRICS.investigationRun, value: 1234, unit: 'ms', labels: { outcome: 'failed' } });
    expect(refusal!.metric).toEqual({ name: 'guard.refusal', value: 1, labels: { rule: 'no_select_star' } });
    expect(run!['logging.googleapis.com/labels']).toEqual({ request_id: 'r1' });
  });
});
