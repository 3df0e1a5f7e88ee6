import { redact, redactText } from './redact.js';

/**
 * The one logger: one JSON object per line in Cloud Logging's structured format. Secrets and
 * personal data are redacted here, not by callers. Errors carry `stack_trace` for Error Reporting.
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';
const ORDER: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4, CRITICAL: 5 };

export interface LogContext {
  trace?: string;
  requestId?: string;
  component?: string;
  [key: string]: unknown;
}

export type LogSink = (line: string) => void;

export class Logger {
  constructor(
    private readonly context: LogContext = {},
    private readonly sink: LogSink = (line) => process.stdout.write(line + '\n'),
    private readonly minSeverity: Severity = (process.env.LOG_LEVEL?.toUpperCase() as Severity) || 'INFO',
    private readonly projectId?: string,
  ) {}

  child(context: LogContext): Logger {
    return new Logger({ ...this.context, ...context }, this.sink, this.minSeverity, this.projectId);
  }

  debug(message: string, fields?: Record<string, unknown>): void { this.write('DEBUG', message, fields); }
  info(message: string, fields?: Record<string, unknown>): void { this.write('INFO', message, fields); }
  notice(message: string, fields?: Record<string, unknown>): void { this.write('NOTICE', message, fields); }
  warn(message: string, fields?: Record<string, unknown>): void { this.write('WARNING', message, fields); }
  error(message: string, error?: unknown, fields?: Record<string, unknown>): void {
    const stack = error instanceof Error ? redactText(error.stack ?? `${error.name}: ${error.message}`) : undefined;
    this.write('ERROR', message, { ...fields, ...(error !== undefined ? { error: redact(error) } : {}) }, stack);
  }

  private write(severity: Severity, message: string, fields: Record<string, unknown> = {}, stack?: string): void {
    if (ORDER[severity] < ORDER[this.minSeverity]) return;
    const { trace, requestId, component, ...rest } = this.context;
    const entry: Record<string, unknown> = {
      severity,
      message: redactText(message),
      time: new Date().toISOString(),
      ...(redact({ ...rest, ...fields }) as Record<string, unknown>),
      labels: { ...(component ? { component } : {}), ...(requestId ? { request_id: requestId } : {}) },
    };
    if (trace) entry['logging.googleapis.com/trace'] = this.projectId ? `projects/${this.projectId}/traces/${trace}` : trace;
    if (stack) entry.stack_trace = stack;
    this.sink(JSON.stringify(entry));
  }
}

export const rootLogger = new Logger({}, undefined, undefined, process.env.GOOGLE_CLOUD_PROJECT);
