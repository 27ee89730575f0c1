import { SupportChannel } from '@kizuna/shared/contracts';
import {
  channelOf, domainsFromTraits, matchAccount, normaliseDomain, signZendesk, verifyZendeskSignature, zendeskTicket,
} from './support-intake';

const directory = {
  byDomain: new Map([['acme.com', 'acc-acme']]),
  byContact: new Map([['kim@gmail.com', 'acc-kim']]),
};

describe('matchAccount', () => {
  it('tries the account id, the organization, the e-mail domain, then the known contact', () => {
    expect(matchAccount({ accountId: 'a', organizationExternalId: 'o', email: 'x@acme.com' }, directory)).toEqual({ accountId: 'a', matchedBy: 'account-id' });
    expect(matchAccount({ organizationExternalId: 'o', email: 'x@acme.com' }, directory)).toEqual({ accountId: 'o', matchedBy: 'organization' });
    expect(matchAccount({ email: 'Pat@ACME.com' }, directory)).toEqual({ accountId: 'acc-acme', matchedBy: 'email-domain' });
    expect(matchAccount({ email: 'kim@gmail.com' }, directory)).toEqual({ accountId: 'acc-kim', matchedBy: 'contact-email' });
    expect(matchAccount({ email: 'nobody@gmail.com' }, directory)).toBeUndefined();
    expect(matchAccount({}, directory)).toBeUndefined();
  });
});

describe('domains', () => {
  it('normalises websites and domains', () => {
    expect(normaliseDomain('https://www.Acme.com/pricing')).toBe('acme.com');
    expect(normaliseDomain('acme.co.uk:443')).toBe('acme.co.uk');
    expect(normaliseDomain('not a domain')).toBeUndefined();
    expect(domainsFromTraits({ website: 'http://acme.com', domain: 'acme.com', domains: ['acme.io', 42] })).toEqual(['acme.com', 'acme.io']);
  });
});

describe('verifyZendeskSignature', () => {
  const now = new Date('2026-06-02T10:00:00.000Z');
  const body = Buffer.from('{"type":"zen:event-type:ticket.created"}');
  const ts = '2026-06-02T09:58:00Z';

  it('accepts the HMAC of timestamp + body with any active secret', () => {
    expect(verifyZendeskSignature(['old', 'new'], ts, signZendesk('new', ts, body), body, now)).toEqual({ ok: true });
  });

  it.each([
    ['a wrong secret', ['s'], ts, signZendesk('other', ts, body), 'signature does not match'],
    ['a stale timestamp', ['s'], '2026-06-02T09:54:59Z', signZendesk('s', '2026-06-02T09:54:59Z', body), 'signature timestamp is more than 5 minutes away from now'],
    ['missing headers', ['s'], undefined, undefined, 'missing X-Zendesk-Webhook-Signature or -Timestamp header'],
    ['a bad timestamp', ['s'], 'noon', 'x', 'X-Zendesk-Webhook-Signature-Timestamp is not a timestamp'],
  ])('rejects %s', (_n, secrets, t, sig, reason) => {
    expect(verifyZendeskSignature(secrets, t, sig, body, now)).toEqual({ ok: false, reason });
  });
});

describe('zendeskTicket', () => {
  const at = new Date('2026-06-02T10:00:00.000Z');
  it('reads a ticket event', () => {
    const t = zendeskTicket(
      {
        id: 'e1', type: 'zen:event-type:ticket.status_changed',
        detail: { id: 35, status: 'SOLVED', priority: 'LOW', tags: ['Billing', 'needs_cs'], via: { channel: 'web_form' }, requester: { email: 'Pat@Acme.com' },
          reopens: 2, satisfaction_rating: { score: 2 }, created_at: '2026-06-01T00:00:00Z', updated_at: '2026-06-02T00:00:00Z' },
      },
      at,
    );
    expect(t).toEqual({
      ticketId: 'zendesk:35', hints: { email: 'Pat@Acme.com' }, requesterEmail: 'pat@acme.com', channel: SupportChannel.Web, tags: ['billing', 'needs_cs'],
      category: 'billing', priority: 'low', status: 'solved', reopenedCount: 2, satisfaction: 2, needsCs: true,
      createdAt: '2026-06-01T00:00:00.000Z', updatedAt: '2026-06-02T00:00:00.000Z',
    });
  });

  it('ignores other event types and requires the ticket id', () => {
    expect(zendeskTicket({ id: 'e', type: 'zen:event-type:user.created', detail: {} }, at)).toBeUndefined();
    expect(zendeskTicket({ id: 'e', type: 'zen:event-type:ticket.created', detail: {} }, at)).toEqual({ error: 'detail.id: the ticket id is required' });
  });

  it('maps channels', () => {
    expect(channelOf('voice')).toBe(SupportChannel.Phone);
    expect(channelOf('carrier-pigeon')).toBe(SupportChannel.Other);
  });
});
