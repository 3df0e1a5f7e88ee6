import { redact, redactText } from './redact.js';

/**
 * The one logger: one JSON object per line in Cloud Logging's structured format (`severity`,
 * `message`, `logging.googleapis.com/trace` as `projects/<id>/traces/<trace>`,
 * `logging.googleapis.com/labels` with the component and request id). Secrets and personal data
 * are redacted here, not by callers. An error with a stack is written in Error Reporting's format
 * (`@type` ReportedErrorEvent, the stack trace in `message`, `serviceContext`), so Error Reporting
 * groups it without any client library. `metric()` writes the structured `metric` field that the
 * log-based metrics in Terraform read (names in metrics.ts).
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';
const ORDER: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4, CRITICAL: 5 };

export const REPORTED_ERROR_EVENT = 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent';

export interface LogContext {
  trace?: string;
  requestId?: string;
  component?: string;
  [key: string]: unknown;
}

export type LogSink = (line: string) => void;

/** Which deployed service wrote the entry (Error Reporting groups errors by it). */
export interface ServiceContext {
  service: string;
  version?: string;
}

/** A measurement for a log-based metric: `value` (a count or a duration) and string labels. */
export interface MetricPoint {
  name: string;
  value: number;
  unit?: string;
  labels?: Record<string, string>;
}

export class Logger {
  constructor(
    private readonly context: LogContext = {},
    private readonly sink: LogSink = (line) => process.stdout.write(line + '\n'),
    private readonly minSeverity: Severity = (process.env.LOG_LEVEL?.toUpperCase() as Severity) || 'INFO',
    private readonly projectId?: string,
    private readonly serviceContext?: ServiceContext,
  ) {}

  child(context: LogContext): Logger {
    return new Logger({ ...this.context, ...context }, this.sink, this.minSeverity, this.projectId, this.serviceContext);
  }

  debug(message: string, fields?: Record<string, unknown>): void { this.write('DEBUG', message, fields); }
  info(message: string, fields?: Record<string, unknown>): void { this.write('INFO', message, fields); }
  notice(message: string, fields?: Record<string, unknown>): void { this.write('NOTICE', message, fields); }
  warn(message: string, fields?: Record<string, unknown>): void { this.write('WARNING', message, fields); }
  error(message: string, error?: unknown, fields?: Record<string, unknown>): void {
    const stack = error instanceof Error ? redactText(error.stack ?? `${error.name}: ${error.message}`) : undefined;
    this.write('ERROR', message, { ...fields, ...(error !== undefined ? { error: redact(error) } : {}) }, stack);
  }

  /** One metric point as a structured `metric` field (read by the log-based metrics). */
  metric(point: MetricPoint, fields?: Record<string, unknown>): void {
    const metric = { name: point.name, value: point.value, ...(point.unit ? { unit: point.unit } : {}), labels: point.labels ?? {} };
    this.write('INFO', `metric ${point.name}`, { ...fields, metric });
  }

  private write(severity: Severity, message: string, fields: Record<string, unknown> = {}, stack?: string): void {
    if (ORDER[severity] < ORDER[this.minSeverity]) return;
    const { trace, requestId, component, ...rest } = this.context;
    const labels = { ...(component ? { component } : {}), ...(requestId ? { request_id: requestId } : {}) };
    const text = redactText(message);
    const entry: Record<string, unknown> = {
      severity,
      // Error Reporting reads the stack trace from `message` when `@type` marks a reported error.
      message: stack ? `${text}\n${stack}` : text,
      time: new Date().toISOString(),
      ...(redact({ ...rest, ...fields }) as Record<string, unknown>),
      labels,
      'logging.googleapis.com/labels': labels,
    };
    if (trace) entry['logging.googleapis.com/trace'] = this.projectId ? `projects/${this.projectId}/traces/${trace}` : trace;
    if (stack) {
      entry['@type'] = REPORTED_ERROR_EVENT;
      entry.stack_trace = stack;
      entry.serviceContext = this.serviceContext ?? { service: component ?? 'tsi' };
    }
    this.sink(JSON.stringify(entry));
  }
}

/** Cloud Run (and so Cloud Functions 2nd gen) names the service and revision in K_SERVICE / K_REVISION. */
export const rootLogger = new Logger(
  {},
  undefined,
  undefined,
  process.env.GOOGLE_CLOUD_PROJECT,
  process.env.K_SERVICE ? { service: process.env.K_SERVICE, ...(process.env.K_REVISION ? { version: process.env.K_REVISION } : {}) } : undefined,
);
