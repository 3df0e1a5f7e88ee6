import { Logger } from '../../shared/platform/logger.js';
import { luhnValid, redact, redactText } from '../../shared/platform/redact.js';

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

describe('redactText tricky cases (issue 16.2)', () => {
  it('masks Luhn-valid card numbers only, with spaces or dashes, never inside a longer word or a dashed id', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(redactText('card 4111 1111 1111 1111 exp 12/29')).toBe('card [PII] exp 12/29');
    expect(redactText('card 4111-1111-1111-1111.')).toBe('card [PII].');
    expect(redactText('amex 378282246310005, visa13 4222222222222')).toBe('amex [PII], visa13 [PII]');
    // One digit off: not a card number, left as typed.
    expect(redactText('ref 4111 1111 1111 1112')).toBe('ref 4111 1111 1111 1112');
    // 12 or 20 digits are not card lengths.
    expect(redactText('n 411111111111 and 41111111111111111113')).toBe('n 411111111111 and 41111111111111111113');
    // A UUID whose groups happen to be digits is an id, not a card.
    expect(redactText('req 41111111-1111-1111-1111-111111111111')).toBe('req 41111111-1111-1111-1111-111111111111');
    expect(redactText('x4111111111111111')).toBe('x4111111111111111');
  });

  it('leaves our own identifiers readable: ULIDs, prefixed ids, UUIDs, hex digests, chain ids, timestamps', () => {
    for (const id of [
      'inv_01jdq3v8m7x5k2n9p4r6t8w0yz',
      '01JDQ3V8M7X5K2N9P4R6T8W0YZ',
      'investigations/inv_01jdq3v8m7x5k2n9p4r6t8w0yz/comments',
      '123e4567-e89b-12d3-a456-426614174000',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'api/chain_01jdq3v8m7x5k2n9p4r6t8w0yz',
      '2026-03-01T10:00:00.000Z at 10:00:00',
      'SubscriptionWithSecretSchemaV2Name',
      'query.page_token: not a page token of this list',
      '/v1/Investigations/INV_01JDQ3V8M7X5K2N9P4R6T8W0YZ/Comments',
    ]) {
      expect(redactText(id)).toBe(id);
    }
  });

  it('finds e-mails inside URLs and behind percent-encoding (also double-encoded)', () => {
    expect(redactText('https://example.net/u/bob@example.com?x=1')).toBe('https://example.net/u/[PII]?x=1');
    expect(redactText('/v1/role-bindings/a%40b.com')).toBe('/v1/role-bindings/[PII]');
    expect(redactText('/v1/x/a%2540b.com/y')).toBe('/v1/x/[PII]/y');
    expect(redactText('/v1/x?pw=1&password%3Dhunter2')).not.toContain('hunter2');
    // Nothing to hide: the encoding is kept as it was; malformed escapes are left alone.
    expect(redactText('/v1/investigations/%E0')).toBe('/v1/investigations/%E0');
    expect(redactText('/v1/search?q=a%20b')).toBe('/v1/search?q=a%20b');
  });

  it('removes named secrets and keeps the words around them', () => {
    expect(redactText('sig whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ok')).toBe('sig [REDACTED] ok');
    expect(redactText('key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY')).toBe('key [REDACTED]');
    expect(redactText('oauth ya29.a0AfH6SMBx-k9 and sk-proj-4fQ9vN2mX7pL1kR8sT3w')).toBe('oauth [REDACTED] and [REDACTED]');
    expect(redactText('Authorization: Basic dXNlcjpwYXNz')).toBe('Authorization: Basic [REDACTED]');
    expect(redactText('login password=hunter2&user=x')).toBe('login password=[REDACTED]&user=x');
    expect(redactText('{"user":"x","password":"hunter 2"}')).toBe('{"user":"x","password":"[REDACTED]"}');
    expect(redactText('db https://svc:s3cr3t@db.internal/x')).toBe('db https://svc:[REDACTED]@db.internal/x');
    expect(redactText('random KZ8f3Lq9vXw2Rt7Yp1Nm4Bc6Dh0Gj5Sa end')).toBe('random [REDACTED] end');
    expect(redactText('-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----')).toBe('[REDACTED]');
  });

  it('masks IPv4 and IPv6 (compressed, loopback, v4-mapped) but not versions or clock times', () => {
    expect(redactText('from 203.0.113.9, 2001:db8::1, ::1 and ::ffff:192.0.2.1.')).toBe('from [PII], [PII], [PII] and [PII].');
    expect(redactText('v1.2.3 at 10:00:00, 999.1.1.1')).toBe('v1.2.3 at 10:00:00, 999.1.1.1');
  });

  it('keeps identifier-named values readable while still removing named secrets in them', () => {
    const out = redact({ subject_pseudonym: 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3', message_id: '4111111111111111', note: 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3', request_id: 'bob@example.com' });
    expect(out).toEqual({ subject_pseudonym: 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3', message_id: '4111111111111111', note: '[REDACTED]', request_id: '[PII]' });
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
