import { createHmac } from 'node:crypto';
import { WebhookVerificationError, generateWebhookSecret, isWebhookSecret, signWebhook, verifyWebhook } from './standard-webhooks';

describe('Standard Webhooks signatures', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const at = new Date('2026-03-10T12:00:00Z');
  const body = '{"type":"kizuna.notification.escalation.assigned","data":{"n":1}}';

  it('signs id.timestamp.body with HMAC-SHA256 of the decoded secret, base64, prefixed v1', () => {
    const h = signWebhook({ id: 'msg_1', timestamp: at, body, secrets: [secret] });
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`msg_1.${at.getTime() / 1000}.${body}`).digest('base64');
    expect(h).toEqual({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(at.getTime() / 1000), 'webhook-signature': `v1,${expected}` });
  });

  it('verifies with either secret during a rotation', () => {
    const next = generateWebhookSecret();
    const h = signWebhook({ id: 'msg_2', timestamp: at, body, secrets: [secret, next] });
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifyWebhook({ body, headers: h, secrets: secret, now: at })).toEqual(JSON.parse(body));
    expect(verifyWebhook({ body: Buffer.from(body), headers: { ...h }, secrets: [next], now: at })).toEqual(JSON.parse(body));
  });

  it('refuses a changed body, a wrong secret, a stale timestamp and missing headers', () => {
    const h = signWebhook({ id: 'msg_3', timestamp: at, body, secrets: [secret] });
    expect(() => verifyWebhook({ body: body.replace('1', '2'), headers: h, secrets: secret, now: at })).toThrow('no matching signature');
    expect(() => verifyWebhook({ body, headers: h, secrets: generateWebhookSecret(), now: at })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ body, headers: h, secrets: secret, now: new Date(at.getTime() + 301_000) })).toThrow('outside the tolerance');
    expect(() => verifyWebhook({ body, headers: { 'webhook-id': 'x' }, secrets: secret, now: at })).toThrow('missing');
    expect(() => verifyWebhook({ body, headers: { ...h, 'webhook-id': 'msg_4' }, secrets: secret, now: at })).toThrow('no matching signature');
  });

  it('knows a secret when it sees one', () => {
    expect(isWebhookSecret(generateWebhookSecret())).toBe(true);
    expect(isWebhookSecret('whsec_short')).toBe(false);
    expect(isWebhookSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBe(false);
  });
});
