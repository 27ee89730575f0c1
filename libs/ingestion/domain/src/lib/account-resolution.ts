import type { SegmentMessage } from './segment-message';

/** Keys under which a user's account association is remembered. */
export const userKey = (userId: string) => `u:${userId}`;
export const anonymousKey = (anonymousId: string) => `a:${anonymousId}`;

/** The user keys a message can be attributed through (userId first). */
export function userKeysOf(m: Pick<SegmentMessage, 'userId' | 'anonymousId'>): string[] {
  const keys: string[] = [];
  if (m.userId) keys.push(userKey(m.userId));
  if (m.anonymousId) keys.push(anonymousKey(m.anonymousId));
  return keys;
}

function nonEmpty(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** The account a message names itself: `context.groupId`, else `properties.accountId` (group: its groupId). */
export function explicitAccountId(m: SegmentMessage): string | undefined {
  if (m.type === 'group') return m.groupId;
  return nonEmpty(m.context?.['groupId']) ?? nonEmpty(m.properties?.['accountId']);
}

export interface Resolution<T> {
  item: T;
  accountId: string | undefined;
}

/**
 * Attributes a sequence of messages (in arrival order) to accounts: explicit account first, else
 * the group the user was last associated with by a `group` call, including earlier calls of the
 * same batch. `known` holds stored associations; the associations the messages create are returned
 * (`group` associates its user; `alias` carries the previous id's account over to the new userId).
 */
export function resolveAccounts<T extends { message: SegmentMessage }>(
  items: readonly T[],
  known: ReadonlyMap<string, string>,
): { resolutions: Resolution<T>[]; associations: Map<string, string> } {
  const associations = new Map<string, string>();
  const lookup = (key: string) => associations.get(key) ?? known.get(key);
  const resolutions = items.map((item) => {
    const m = item.message;
    let accountId = explicitAccountId(m);
    if (m.type === 'alias' && m.previousId && m.userId) {
      accountId ??= lookup(userKey(m.previousId)) ?? lookup(anonymousKey(m.previousId)) ?? lookup(userKey(m.userId));
      if (accountId) associations.set(userKey(m.userId), accountId);
    } else if (!accountId) {
      for (const key of userKeysOf(m)) {
        accountId = lookup(key);
        if (accountId) break;
      }
    }
    if (m.type === 'group' && accountId) for (const key of userKeysOf(m)) associations.set(key, accountId);
    return { item, accountId };
  });
  // A later group call of the same request also attributes the user's earlier calls.
  for (const r of resolutions) {
    if (r.accountId) continue;
    for (const key of userKeysOf(r.item.message)) {
      r.accountId = associations.get(key);
      if (r.accountId) break;
    }
  }
  return { resolutions, associations };
}
