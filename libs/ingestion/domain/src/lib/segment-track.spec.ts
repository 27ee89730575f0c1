import { normaliseTrack, resolveAccountId } from './segment-track';

const at = new Date('2026-05-01T10:00:00Z');
const id = () => 'assigned-1';

describe('resolveAccountId', () => {
  it('prefers context.groupId over properties.accountId', () => {
    expect(resolveAccountId({ context: { groupId: 'acc-1' }, properties: { accountId: 'acc-2' } })).toBe('acc-1');
    expect(resolveAccountId({ properties: { accountId: ' acc-2 ' } })).toBe('acc-2');
    expect(resolveAccountId({ context: { groupId: '' }, properties: {} })).toBeUndefined();
    expect(resolveAccountId({ context: { groupId: 42 } })).toBeUndefined();
  });
});

describe('normaliseTrack', () => {
  it('builds a product event with defaults for messageId and timestamp', () => {
    const r = normaliseTrack({ userId: 'u1', event: 'Report Shared', context: { groupId: 'acc-1' } }, 'src-1', at, id);
    expect(r).toEqual({
      ok: true,
      event: {
        kind: 'track', sourceId: 'src-1', messageId: 'assigned-1', accountId: 'acc-1', userId: 'u1',
        event: 'Report Shared', properties: {}, context: { groupId: 'acc-1' },
        timestamp: '2026-05-01T10:00:00.000Z', receivedAt: '2026-05-01T10:00:00.000Z',
      },
    });
  });

  it('keeps the client messageId and timestamp', () => {
    const r = normaliseTrack(
      { anonymousId: 'a1', event: 'x', properties: { accountId: 'acc-9' }, messageId: 'm-1', timestamp: '2026-04-30T00:00:00.000Z' },
      'src-1', at, id,
    );
    expect(r.ok && r.event.messageId).toBe('m-1');
    expect(r.ok && r.event.timestamp).toBe('2026-04-30T00:00:00.000Z');
    expect(r.ok && r.event.anonymousId).toBe('a1');
  });

  it('rejects a call without user identity or account', () => {
    expect(normaliseTrack({ event: 'x', context: { groupId: 'a' } }, 's', at, id)).toEqual({ ok: false, reason: 'userId or anonymousId is required' });
    expect(normaliseTrack({ userId: 'u', event: 'x' }, 's', at, id)).toEqual({
      ok: false,
      reason: 'cannot resolve the account: set context.groupId or properties.accountId',
    });
  });
});
