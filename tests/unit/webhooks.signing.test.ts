import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateSecret, signedHeaders } from '../../shared/webhooks/signing.js';

/** Our signatures, checked by the official Standard Webhooks library (what receivers will use). */
describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ type: 'tsi.investigation.completed.v1', timestamp: '2026-01-01T00:00:00.000Z', data: { investigation_id: 'inv_01jabcdefghjkmnpqrstvwxyz0' } });

  it('produces headers the standardwebhooks library verifies', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const headers = signedHeaders([secret], 'evt_01', new Date(), body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('signs with every active secret during rotation, so either one verifies', () => {
    const previous = generateSecret();
    const next = generateSecret();
    const headers = signedHeaders([next, previous], 'evt_02', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(previous).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(next).verify(body, { ...headers })).not.toThrow();
  });

  it('fails verification for another secret, a tampered body or a changed id', () => {
    const secret = generateSecret();
    const headers = signedHeaders([secret], 'evt_03', new Date(), body);
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('completed', 'failed'), { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_other' })).toThrow(WebhookVerificationError);
  });

  it('uses the timestamp it is given, so a stale delivery is refused by the receiver', () => {
    const secret = generateSecret();
    const headers = signedHeaders([secret], 'evt_04', new Date(Date.now() - 3600_000), body);
    expect(() => new Webhook(secret).verify(body, { ...headers })).toThrow(/timestamp/i);
  });
});
