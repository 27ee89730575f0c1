import type {
  AccountTraitsV1, AccountUpdatedV1, EventType, PayloadOf, ProductEventV1, UserAliasedV1, UserIdentifiedV1,
} from '@kizuna/shared/contracts';
import { effectiveTimestamp, type SegmentMessage } from './segment-message';

export interface NormaliseContext {
  sourceId: string;
  messageId: string;
  accountId: string;
  receivedAt: Date;
  /** receivedAt as RFC 3339, when the caller formatted it once for a whole request. */
  receivedAtIso?: string;
}

export type ContractEvent = { [K in EventType]: { type: K; data: PayloadOf<K> } }[EventType];

const str = (v: unknown, max = 512) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : undefined);
const num = (v: unknown) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};
const int = (v: unknown) => {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
};
const date = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);
const email = (v: unknown) => (typeof v === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? v.toLowerCase() : undefined);
const first = (t: Record<string, unknown>, ...keys: string[]) => keys.map((k) => t[k]).find((v) => v !== undefined && v !== null);

/**
 * Account attributes Kizuna interprets, read from `group` traits (Segment's reserved names and
 * common spellings). Values of the wrong type are left out here and kept in `rawTraits`.
 */
export function accountTraits(traits: Record<string, unknown>): AccountTraitsV1 {
  const out: AccountTraitsV1 = {};
  const set = <K extends keyof AccountTraitsV1>(k: K, v: AccountTraitsV1[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('name', str(first(traits, 'name', 'company')));
  set('industry', str(traits['industry'], 128));
  set('plan', str(first(traits, 'plan', 'planName', 'plan_name'), 128));
  set('seatsPurchased', int(first(traits, 'seatsPurchased', 'seats_purchased', 'seats', 'licenses')));
  set('arr', num(first(traits, 'arr', 'ARR', 'annualRevenue', 'annual_recurring_revenue')));
  set('mrr', num(first(traits, 'mrr', 'MRR', 'monthly_recurring_revenue')));
  set('region', str(first(traits, 'region', 'area'), 64));
  set('ownerCsmEmail', email(first(traits, 'ownerCsmEmail', 'owner_csm_email', 'csmEmail', 'csm_email')));
  set('contractStart', date(first(traits, 'contractStart', 'contract_start', 'contractStartDate')));
  set('renewalDate', date(first(traits, 'renewalDate', 'renewal_date', 'contractEnd', 'contract_end')));
  return out;
}

function ids(m: SegmentMessage): { userId?: string; anonymousId?: string } {
  const out: { userId?: string; anonymousId?: string } = {};
  if (m.userId) out.userId = m.userId;
  if (m.anonymousId) out.anonymousId = m.anonymousId;
  return out;
}

/** Turns a validated Segment message, once its account is known, into the contract event it becomes. */
export function toContractEvent(m: SegmentMessage, ctx: NormaliseContext): ContractEvent {
  const receivedIso = ctx.receivedAtIso ?? ctx.receivedAt.toISOString();
  const timestamp = m.timestamp || m.originalTimestamp ? effectiveTimestamp(m, ctx.receivedAt) : receivedIso;
  const base = { sourceId: ctx.sourceId, messageId: ctx.messageId, accountId: ctx.accountId };
  switch (m.type) {
    case 'track':
    case 'page':
    case 'screen': {
      const data: ProductEventV1 = {
        kind: m.type,
        ...base,
        ...ids(m),
        properties: m.category ? { category: m.category, ...(m.properties ?? {}) } : (m.properties ?? {}),
        timestamp,
        receivedAt: receivedIso,
      };
      if (m.type === 'track' && m.event) data.event = m.event;
      if (m.type !== 'track' && m.name) data.name = m.name;
      if (m.context) data.context = m.context;
      return { type: `cs.product.${m.type}.v1` as const, data } as ContractEvent;
    }
    case 'identify': {
      const data: UserIdentifiedV1 = { ...base, ...ids(m), traits: m.traits ?? {}, timestamp };
      return { type: 'cs.directory.user.identified.v1', data };
    }
    case 'group': {
      const raw = m.traits ?? {};
      const data: AccountUpdatedV1 = { ...base, ...ids(m), traits: accountTraits(raw), rawTraits: raw, timestamp };
      return { type: 'cs.directory.account.updated.v1', data };
    }
    case 'alias': {
      const data: UserAliasedV1 = { ...base, previousId: m.previousId ?? '', userId: m.userId ?? '', timestamp };
      return { type: 'cs.directory.user.aliased.v1', data };
    }
  }
}
