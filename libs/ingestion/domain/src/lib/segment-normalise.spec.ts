import { validatePayload } from '@kizuna/shared/contracts';
import { accountTraits, toContractEvent } from './segment-normalise';

const ctx = { sourceId: 'src-1', messageId: 'm-1', accountId: 'acc-1', receivedAt: new Date('2026-05-01T12:00:00.000Z') };

describe('toContractEvent', () => {
  it('turns a track call into a valid cs.product.track.v1', () => {
    const e = toContractEvent({ type: 'track', userId: 'u1', event: 'Report Shared', properties: { n: 1 }, context: { groupId: 'acc-1' } }, ctx);
    expect(e.type).toBe('cs.product.track.v1');
    expect(e.data).toEqual({
      kind: 'track', sourceId: 'src-1', messageId: 'm-1', accountId: 'acc-1', userId: 'u1', event: 'Report Shared',
      properties: { n: 1 }, context: { groupId: 'acc-1' }, timestamp: '2026-05-01T12:00:00.000Z', receivedAt: '2026-05-01T12:00:00.000Z',
    });
    expect(() => validatePayload(e.type, e.data)).not.toThrow();
  });

  it('turns page and screen calls into product events with their name and category', () => {
    const page = toContractEvent({ type: 'page', anonymousId: 'a1', name: 'Pricing', category: 'Docs' }, ctx);
    expect(page.type).toBe('cs.product.page.v1');
    expect(page.data).toMatchObject({ kind: 'page', name: 'Pricing', properties: { category: 'Docs' }, anonymousId: 'a1' });
    expect(() => validatePayload(page.type, page.data)).not.toThrow();
    expect(toContractEvent({ type: 'screen', userId: 'u', name: 'Home' }, ctx).type).toBe('cs.product.screen.v1');
  });

  it('turns identify, group and alias into directory events that validate', () => {
    const identify = toContractEvent({ type: 'identify', userId: 'u1', traits: { email: 'x@example.com' } }, ctx);
    const group = toContractEvent({ type: 'group', userId: 'u1', groupId: 'acc-1', traits: { name: 'Acme', seats: '25', arr: 120000, bogus: true } }, ctx);
    const alias = toContractEvent({ type: 'alias', userId: 'u1', previousId: 'anon-1' }, ctx);
    expect([identify.type, group.type, alias.type]).toEqual([
      'cs.directory.user.identified.v1', 'cs.directory.account.updated.v1', 'cs.directory.user.aliased.v1',
    ]);
    for (const e of [identify, group, alias]) expect(() => validatePayload(e.type, e.data)).not.toThrow();
    expect(group.data).toMatchObject({ traits: { name: 'Acme', seatsPurchased: 25, arr: 120000 }, rawTraits: { bogus: true } });
  });
});

describe('accountTraits', () => {
  it('reads common spellings and leaves out values of the wrong type', () => {
    expect(
      accountTraits({
        company: 'Acme', industry: 'Retail', plan_name: 'Pro', seats_purchased: 40, ARR: '96000', mrr: -5, region: 'EMEA',
        csm_email: 'Kim@Example.com', contract_start: '2026-01-01', renewal_date: 'soon',
      }),
    ).toEqual({
      name: 'Acme', industry: 'Retail', plan: 'Pro', seatsPurchased: 40, arr: 96000, region: 'EMEA',
      ownerCsmEmail: 'kim@example.com', contractStart: '2026-01-01T00:00:00.000Z',
    });
  });
});
