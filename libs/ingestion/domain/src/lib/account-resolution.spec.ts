import { explicitAccountId, resolveAccounts } from './account-resolution';
import type { SegmentMessage } from './segment-message';

const msg = (m: Partial<SegmentMessage> & { type: SegmentMessage['type'] }) => ({ message: m as SegmentMessage });

describe('explicitAccountId', () => {
  it('takes context.groupId, then properties.accountId; a group call names its own', () => {
    expect(explicitAccountId({ type: 'track', context: { groupId: 'a' }, properties: { accountId: 'b' } })).toBe('a');
    expect(explicitAccountId({ type: 'track', properties: { accountId: ' b ' } })).toBe('b');
    expect(explicitAccountId({ type: 'group', groupId: 'g', context: { groupId: 'a' } })).toBe('g');
    expect(explicitAccountId({ type: 'track', context: { groupId: '' } })).toBeUndefined();
  });
});

describe('resolveAccounts', () => {
  it('uses the stored group of the user, then of the anonymous id', () => {
    const known = new Map([['u:u1', 'acc-1'], ['a:anon-2', 'acc-2']]);
    const { resolutions } = resolveAccounts(
      [msg({ type: 'track', userId: 'u1' }), msg({ type: 'page', anonymousId: 'anon-2' }), msg({ type: 'track', userId: 'nobody' })],
      known,
    );
    expect(resolutions.map((r) => r.accountId)).toEqual(['acc-1', 'acc-2', undefined]);
  });

  it('applies group calls in order within the batch, and to the user\'s earlier calls', () => {
    const { resolutions, associations } = resolveAccounts(
      [
        msg({ type: 'track', userId: 'u1' }),
        msg({ type: 'group', userId: 'u1', anonymousId: 'x1', groupId: 'acc-9' }),
        msg({ type: 'track', userId: 'u1' }),
        msg({ type: 'track', anonymousId: 'x1' }),
      ],
      new Map(),
    );
    expect(resolutions.map((r) => r.accountId)).toEqual(['acc-9', 'acc-9', 'acc-9', 'acc-9']);
    expect([...associations]).toEqual([['u:u1', 'acc-9'], ['a:x1', 'acc-9']]);
  });

  it('a later group call moves the user to the new account', () => {
    const { resolutions } = resolveAccounts(
      [msg({ type: 'group', userId: 'u1', groupId: 'new' }), msg({ type: 'identify', userId: 'u1' })],
      new Map([['u:u1', 'old']]),
    );
    expect(resolutions[1]?.accountId).toBe('new');
  });

  it('alias carries the previous id\'s account to the new user id', () => {
    const { resolutions, associations } = resolveAccounts(
      [msg({ type: 'alias', previousId: 'anon-7', userId: 'u7' }), msg({ type: 'track', userId: 'u7' })],
      new Map([['a:anon-7', 'acc-7']]),
    );
    expect(resolutions.map((r) => r.accountId)).toEqual(['acc-7', 'acc-7']);
    expect(associations.get('u:u7')).toBe('acc-7');
  });
});
