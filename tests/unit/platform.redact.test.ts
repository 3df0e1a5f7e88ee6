import { Logger } from '../../shared/platform/logger.js';
import { redact, redactText } from '../../shared/platform/redact.js';

describe('redaction', () => {
  it('removes secrets by key and masks personal data by key', () => {
    const out = redact({ authorization: 'Bearer abc', api_key: 'k', email: 'a@b.co', user_id: 'u_1', nested: { signup_ip: '1.2.3.4' } });
    expect(out).toEqual({ authorization: '[REDACTED]', api_key: '[REDACTED]', email: '[PII]', user_id: 'u_1', nested: { signup_ip: '[PII]' } });
  });
  it('masks emails, IPs and tokens inside free text', () => {
    const text = redactText('login by john@example.com from 203.0.113.9 and 2001:db8::1:2 with Bearer eyJhbGciOi.eyJzdWIiOi.sig');
    expect(text).not.toMatch(/john@example\.com|203\.0\.113\.9|eyJ/);
  });
});

describe('logger', () => {
  it('writes Cloud Logging structured JSON with trace, labels and redacted fields', () => {
    const lines: string[] = [];
    const log = new Logger({ component: 'test', requestId: 'req-1', trace: 'abc123' }, (l) => lines.push(l), 'DEBUG', 'proj');
    log.info('user jane@example.com signed in', { token: 'secret-token', ip: '10.0.0.1', count: 3 });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      severity: 'INFO',
      message: 'user [PII] signed in',
      token: '[REDACTED]',
      ip: '[PII]',
      count: 3,
      labels: { component: 'test', request_id: 'req-1' },
      'logging.googleapis.com/trace': 'projects/proj/traces/abc123',
    });
    expect(lines[0]).not.toContain('secret-token');
  });
  it('reports errors with a stack_trace for Error Reporting', () => {
    const lines: string[] = [];
    new Logger({}, (l) => lines.push(l), 'INFO').error('boom', new Error('disk full'));
    const entry = JSON.parse(lines[0]!);
    expect(entry.severity).toBe('ERROR');
    expect(entry.stack_trace).toContain('Error: disk full');
  });
  it('drops entries below the minimum severity', () => {
    const lines: string[] = [];
    new Logger({}, (l) => lines.push(l), 'WARNING').info('quiet');
    expect(lines).toHaveLength(0);
  });
});
