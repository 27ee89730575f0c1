import type { EntityManager } from 'typeorm';
import type { AccountFacts } from '@kizuna/health-scoring/domain';
import {
  AccountDailyActivity, AccountEventUse, AccountProfile, AccountSegment, AccountUserDay, BillingFact, EscalationFact, SupportFact, SurveyFact,
} from './entities';

export interface ProfileFacts {
  plan: string | null;
  arr: number | null;
  /** The contract-size segment lifecycle decided, when it has. */
  segment: string | null;
}

/** Escalation states that count as open. */
export const OPEN_ESCALATION_STATES = ['open', 'assigned', 'acknowledged'];
/** Reasons that are opportunities, not risks: they do not cost health. */
export const NON_RISK_ESCALATION_REASONS = ['expansion-signal'];

export interface FactsSettings {
  keyFeatures: string[];
  valueMilestones: string[];
}

interface Row {
  account_id: string;
  seats_purchased: number | null;
  plan: string | null;
  arr: string | null;
  au7: string | null;
  au30: string | null;
  s7: string | null;
  s30: string | null;
  e7: string | null;
  ep21: string | null;
  last_day: string | null;
  kf: string | null;
  ms: string | null;
  nps: number | null;
  csat: string | null;
  t30: string | null;
  t90: string | null;
  r90: string | null;
  neg30: string | null;
  pf30: string | null;
  dg90: string | null;
  esc: string | null;
  segment: string | null;
}

const n = (v: string | number | null | undefined) => (v === null || v === undefined ? 0 : Number(v));

/**
 * Counts every account's facts over the rolling windows ending at `now`, for many accounts in one
 * set-based statement (the streaming path passes one account, the sweep and backfill hundreds).
 */
export async function loadAccountFacts(
  m: EntityManager,
  accountIds: string[],
  now: Date,
  settings: FactsSettings,
): Promise<Map<string, { facts: AccountFacts; profile: ProfileFacts }>> {
  const t = (e: new () => unknown) => m.connection.getMetadata(e).tablePath;
  const day = now.toISOString().slice(0, 10);
  const rows: Row[] = await m.query(
    `WITH a AS (SELECT DISTINCT unnest($1::text[]) AS account_id),
     ud AS (SELECT account_id,
              count(DISTINCT user_key) FILTER (WHERE day > $2::date - 7) AS au7,
              count(DISTINCT user_key) AS au30,
              count(*) FILTER (WHERE day > $2::date - 7) AS s7,
              count(*) AS s30
            FROM ${t(AccountUserDay)} WHERE account_id = ANY($1) AND day > $2::date - 30 AND day <= $2::date GROUP BY account_id),
     act AS (SELECT account_id,
              sum(events) FILTER (WHERE day > $2::date - 7 AND day <= $2::date) AS e7,
              sum(events) FILTER (WHERE day > $2::date - 28 AND day <= $2::date - 7) AS ep21,
              to_char(max(day) FILTER (WHERE day <= $2::date), 'YYYY-MM-DD') AS last_day
            FROM ${t(AccountDailyActivity)} WHERE account_id = ANY($1) GROUP BY account_id),
     fu AS (SELECT account_id,
              count(*) FILTER (WHERE event = ANY($4::text[]) AND last_used_at > $3::timestamptz - interval '30 days' AND first_used_at <= $3) AS kf,
              count(*) FILTER (WHERE event = ANY($5::text[]) AND first_used_at <= $3) AS ms
            FROM ${t(AccountEventUse)} WHERE account_id = ANY($1) GROUP BY account_id),
     sv AS (SELECT account_id,
              (array_agg(score ORDER BY answered_at DESC) FILTER (WHERE kind = 'nps' AND answered_at <= $3))[1] AS nps,
              avg(score) FILTER (WHERE kind = 'csat' AND answered_at > $3::timestamptz - interval '90 days' AND answered_at <= $3) AS csat
            FROM ${t(SurveyFact)} WHERE account_id = ANY($1) GROUP BY account_id),
     sp AS (SELECT account_id,
              count(*) FILTER (WHERE kind = 'ticket' AND opened_at > $3::timestamptz - interval '30 days' AND opened_at <= $3) AS t30,
              count(*) FILTER (WHERE kind = 'ticket' AND opened_at > $3::timestamptz - interval '90 days' AND opened_at <= $3) AS t90,
              count(*) FILTER (WHERE kind = 'ticket' AND reopened_count > 0 AND opened_at > $3::timestamptz - interval '90 days' AND opened_at <= $3) AS r90,
              count(*) FILTER (WHERE negative AND opened_at > $3::timestamptz - interval '30 days' AND opened_at <= $3) AS neg30
            FROM ${t(SupportFact)} WHERE account_id = ANY($1) GROUP BY account_id),
     bf AS (SELECT account_id,
              count(*) FILTER (WHERE change = 'payment-failed' AND effective_at > $3::timestamptz - interval '30 days' AND effective_at <= $3) AS pf30,
              count(*) FILTER (WHERE change = 'downgraded' AND effective_at > $3::timestamptz - interval '90 days' AND effective_at <= $3) AS dg90
            FROM ${t(BillingFact)} WHERE account_id = ANY($1) GROUP BY account_id),
     es AS (SELECT account_id, count(*) AS esc FROM ${t(EscalationFact)}
            WHERE account_id = ANY($1) AND state = ANY($6::text[]) AND NOT reason = ANY($7::text[]) GROUP BY account_id)
     SELECT a.account_id, p.seats_purchased, p.plan, p.arr, ud.au7, ud.au30, ud.s7, ud.s30, act.e7, act.ep21, act.last_day,
            fu.kf, fu.ms, sv.nps, sv.csat, sp.t30, sp.t90, sp.r90, sp.neg30, bf.pf30, bf.dg90, es.esc, seg.contract_size AS segment
       FROM a
       LEFT JOIN ${t(AccountProfile)} p USING (account_id)
       LEFT JOIN ${t(AccountSegment)} seg USING (account_id)
       LEFT JOIN es USING (account_id)
       LEFT JOIN ud USING (account_id) LEFT JOIN act USING (account_id) LEFT JOIN fu USING (account_id)
       LEFT JOIN sv USING (account_id) LEFT JOIN sp USING (account_id) LEFT JOIN bf USING (account_id)`,
    [accountIds, day, now, settings.keyFeatures, settings.valueMilestones, OPEN_ESCALATION_STATES, NON_RISK_ESCALATION_REASONS],
  );
  const out = new Map<string, { facts: AccountFacts; profile: ProfileFacts }>();
  for (const r of rows) {
    const facts: AccountFacts = {
      seatsPurchased: r.seats_purchased,
      activeUsers7d: n(r.au7),
      activeUsers30d: n(r.au30),
      sessions7d: n(r.s7),
      sessions30d: n(r.s30),
      events7d: n(r.e7),
      eventsPrev21d: n(r.ep21),
      lastActiveDay: r.last_day,
      keyFeaturesUsed30d: n(r.kf),
      keyFeaturesConfigured: new Set(settings.keyFeatures).size,
      valueMilestones: n(r.ms),
      npsLatest: r.nps,
      csatAvg90d: r.csat === null ? null : Number(r.csat),
      tickets30d: n(r.t30),
      tickets90d: n(r.t90),
      reopened90d: n(r.r90),
      negativeContacts30d: n(r.neg30),
      paymentFailed30d: n(r.pf30),
      downgraded90d: n(r.dg90),
      openEscalations: n(r.esc),
      anyActivity: r.last_day !== null || n(r.t90) > 0 || r.nps !== null || r.csat !== null || n(r.pf30) + n(r.dg90) > 0,
    };
    out.set(r.account_id, { facts, profile: { plan: r.plan, arr: r.arr === null ? null : Number(r.arr), segment: r.segment } });
  }
  return out;
}
