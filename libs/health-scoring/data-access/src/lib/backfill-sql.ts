import { ContractSize, EventHeader, Topics } from '@kizuna/shared/contracts';
import { OUTBOX_EXPAND_TYPE } from '@kizuna/shared/persistence';
import { FEATURES, scorecardForSegment, type Scorecard } from '@kizuna/health-scoring/domain';
import {
  AccountDailyActivity, AccountEventUse, AccountHealth, AccountProfile, AccountSegment, AccountUserDay, BillingFact, EscalationFact, HealthChange, SupportFact,
  SurveyFact,
} from './entities';
import { NON_RISK_ESCALATION_REASONS, OPEN_ESCALATION_STATES, type FactsSettings } from './account-facts.repository';
import { f8, featureColumn, SCORED_FEATURES, scoringSql, sqlText } from './scoring-sql';
import { STORED_FEATURE_ORDER } from './stored-features';

/** Table names, as TypeORM maps the entities (schema-qualified). */
export type TableOf = (entity: new () => unknown) => string;

export interface RescoreSqlOptions {
  /** The active version of every scorecard, in the store's order (scorecardForSegment takes the first match). */
  scorecards: Scorecard[];
  /**
   * Versions of the backfilled scorecard the accounts' current scores were computed with (for the
   * changes' top movers: pass every version found in the range, and the active one, which is the only
   * one the streaming path can write meanwhile). An account scored with a version not listed gets
   * movers as if it had no previous explanation. Ignored by a dry run.
   */
  previous: Scorecard[];
  settings: FactsSettings;
  /** HEALTH_ENTERPRISE_ARR. */
  enterpriseArr: number;
  /** HEALTH_MIN_DELTA. */
  minDelta: number;
  /** The outbox table (shared persistence). */
  outboxTable: string;
}

const CONTRACT_SIZES: string[] = Object.values(ContractSize);

/**
 * The windows' bounds, computed once by Postgres with loadAccountFacts' own expressions (the
 * intervals in the session's time zone): inline, the plan being generic, they would be date and
 * interval arithmetic for every fact row.
 */
export const WINDOW_BOUNDS_SQL = `SELECT $1::timestamptz - interval '30 days' AS t30, $1::timestamptz - interval '90 days' AS t90`;

/** UTC days before a day (YYYY-MM-DD), as Postgres' date - integer. */
const daysBefore = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00.000Z`) - n * 86_400_000).toISOString().slice(0, 10);

/**
 * The parameters of both statements (dryRunSql reads the first 14): $1 the scorecard id whose
 * accounts are rescored, $2 and $3 the range of account ids (after $2, up to and including $3),
 * $4 the UTC day of now, $5 now, $6 the key features, $7 the value milestones, $8 the open
 * escalation states, $9 the escalation reasons that are no risk, $10-$12 the days 7, 28 and 30
 * days before, $13 and $14 now less 30 and 90 days (WINDOW_BOUNDS_SQL); for applySql also $15
 * the cause (last_event_id), $16 now as ISO 8601 text, $17 the outbox headers (trace context and the row's type),
 * $18 the events' source, $19 the range's outbox batch (a UUID: the id of the outbox row that stands
 * for its changes, see HEALTH_CHANGES_EXPANSION).
 */
export function rescoreParams(
  p: { scorecardId: string; after: string; upTo: string; now: Date; bounds: { t30: Date; t90: Date }; settings: FactsSettings },
  apply?: { cause: string; headers: Record<string, string>; source: string; batch: string },
): unknown[] {
  const day = p.now.toISOString().slice(0, 10);
  const base = [
    p.scorecardId, p.after, p.upTo, day, p.now, p.settings.keyFeatures, p.settings.valueMilestones, OPEN_ESCALATION_STATES, NON_RISK_ESCALATION_REASONS,
    daysBefore(day, 7), daysBefore(day, 28), daysBefore(day, 30), p.bounds.t30, p.bounds.t90,
  ];
  return apply ? [...base, apply.cause, p.now.toISOString(), JSON.stringify({ ...apply.headers, [EventHeader.type]: OUTBOX_EXPAND_TYPE }), apply.source, apply.batch] : base;
}

/**
 * The accounts of a scorecard in one range of ids with their facts counted over the rolling windows
 * ending at $5 (the same windows as loadAccountFacts), in one pass over each facts table's range,
 * and the features deriveFeatures would compute from them, the segment and the scorecard index.
 * Active users are counted per (account, user) first, then per account: the same numbers as
 * loadAccountFacts' count(DISTINCT user_key), without a sort per account and window.
 */
function source(t: TableOf, o: RescoreSqlOptions, withFeatures = false): { sql: string; columns: string[] } {
  const range = (col: string) => `${col} > $2 AND ${col} <= $3`;
  const facts = `
    SELECT a.account_id, a.band AS old_band, a.emitted_score, a.emitted_band, a.features AS prev_features, a.computed_at AS prev_computed_at,
           a.last_event_id AS prev_last_event_id, a.scorecard_version AS pv, p.seats_purchased AS seats, p.plan, p.arr, seg.contract_size,
           COALESCE(ud.au7, 0) AS au7, COALESCE(ud.au30, 0) AS au30, COALESCE(ud.s7, 0) AS s7, COALESCE(ud.s30, 0) AS s30,
           COALESCE(act.e7, 0) AS e7, COALESCE(act.ep21, 0) AS ep21, act.last_day, COALESCE(fu.kf, 0) AS kf, COALESCE(fu.ms, 0) AS ms,
           sv.nps, sv.csat::float8 AS csat, COALESCE(sp.t30, 0) AS t30, COALESCE(sp.t90, 0) AS t90, COALESCE(sp.r90, 0) AS r90,
           COALESCE(sp.neg30, 0) AS neg30, COALESCE(bf.pf30, 0) AS pf30, COALESCE(bf.dg90, 0) AS dg90, COALESCE(es.esc, 0) AS esc
      FROM ${t(AccountHealth)} a
      LEFT JOIN ${t(AccountProfile)} p ON p.account_id = a.account_id AND ${range('p.account_id')}
      LEFT JOIN ${t(AccountSegment)} seg ON seg.account_id = a.account_id AND ${range('seg.account_id')}
      LEFT JOIN (SELECT account_id,
                   count(*) FILTER (WHERE d7 > 0) AS au7, count(*) AS au30, sum(d7)::bigint AS s7, sum(d30)::bigint AS s30
                   FROM (SELECT account_id, user_key, count(*) FILTER (WHERE day > $10::date) AS d7, count(*) AS d30
                           FROM ${t(AccountUserDay)} WHERE ${range('account_id')} AND day > $12::date AND day <= $4::date
                          GROUP BY account_id, user_key) du
                  GROUP BY account_id) ud
        ON ud.account_id = a.account_id
      LEFT JOIN (SELECT account_id,
                   sum(events) FILTER (WHERE day > $10::date AND day <= $4::date) AS e7,
                   sum(events) FILTER (WHERE day > $11::date AND day <= $10::date) AS ep21,
                   max(day) FILTER (WHERE day <= $4::date) AS last_day
                 FROM ${t(AccountDailyActivity)} WHERE ${range('account_id')} GROUP BY account_id) act
        ON act.account_id = a.account_id
      LEFT JOIN (SELECT account_id,
                   count(*) FILTER (WHERE event = ANY($6::text[]) AND last_used_at > $13::timestamptz AND first_used_at <= $5::timestamptz) AS kf,
                   count(*) FILTER (WHERE event = ANY($7::text[]) AND first_used_at <= $5::timestamptz) AS ms
                 FROM ${t(AccountEventUse)} WHERE ${range('account_id')} GROUP BY account_id) fu
        ON fu.account_id = a.account_id
      LEFT JOIN (SELECT account_id,
                   (array_agg(score ORDER BY answered_at DESC) FILTER (WHERE kind = 'nps' AND answered_at <= $5::timestamptz))[1] AS nps,
                   avg(score) FILTER (WHERE kind = 'csat' AND answered_at > $14::timestamptz AND answered_at <= $5::timestamptz) AS csat
                 FROM ${t(SurveyFact)} WHERE ${range('account_id')} GROUP BY account_id) sv
        ON sv.account_id = a.account_id
      LEFT JOIN (SELECT account_id,
                   count(*) FILTER (WHERE kind = 'ticket' AND opened_at > $13::timestamptz AND opened_at <= $5::timestamptz) AS t30,
                   count(*) FILTER (WHERE kind = 'ticket' AND opened_at > $14::timestamptz AND opened_at <= $5::timestamptz) AS t90,
                   count(*) FILTER (WHERE kind = 'ticket' AND reopened_count > 0 AND opened_at > $14::timestamptz AND opened_at <= $5::timestamptz) AS r90,
                   count(*) FILTER (WHERE negative AND opened_at > $13::timestamptz AND opened_at <= $5::timestamptz) AS neg30
                 FROM ${t(SupportFact)} WHERE ${range('account_id')} GROUP BY account_id) sp
        ON sp.account_id = a.account_id
      LEFT JOIN (SELECT account_id,
                   count(*) FILTER (WHERE change = 'payment-failed' AND effective_at > $13::timestamptz AND effective_at <= $5::timestamptz) AS pf30,
                   count(*) FILTER (WHERE change = 'downgraded' AND effective_at > $14::timestamptz AND effective_at <= $5::timestamptz) AS dg90
                 FROM ${t(BillingFact)} WHERE ${range('account_id')} GROUP BY account_id) bf
        ON bf.account_id = a.account_id
      LEFT JOIN (SELECT account_id, count(*) AS esc FROM ${t(EscalationFact)}
                  WHERE ${range('account_id')} AND state = ANY($8::text[]) AND NOT reason = ANY($9::text[]) GROUP BY account_id) es
        ON es.account_id = a.account_id
     WHERE a.scorecard_id = $1 AND ${range('a.account_id')}`;

  // deriveFeatures (account-facts.ts), column for column. young: less than a week of history.
  const young = `SELECT *, (last_day IS NOT NULL AND e7 > 0 AND ep21 = 0) AS young FROM (${facts}) f OFFSET 0`;
  const judged = '(last_day IS NOT NULL AND NOT young)';
  const keyFeatures = new Set(o.settings.keyFeatures).size;
  const features: Record<string, string> = {
    [FEATURES.seatUtilisation]: `CASE WHEN NOT young AND seats > 0 THEN au30::float8 / seats::float8 END`,
    [FEATURES.activeUsers7d]: `CASE WHEN last_day IS NOT NULL THEN au7::float8 END`,
    [FEATURES.activeUsers30d]: `CASE WHEN ${judged} THEN au30::float8 END`,
    [FEATURES.sessions7d]: `CASE WHEN last_day IS NOT NULL THEN s7::float8 END`,
    [FEATURES.sessions30d]: `CASE WHEN ${judged} THEN s30::float8 END`,
    [FEATURES.engagementTrend]:
      `CASE WHEN last_day IS NULL THEN NULL WHEN ep21::float8 / ${f8(3)} > ${f8(0)} THEN e7::float8 / (ep21::float8 / ${f8(3)})` +
      ` WHEN e7 > 0 THEN ${f8(1.5)} ELSE ${f8(0)} END`,
    [FEATURES.daysSinceLastActivity]: `CASE WHEN last_day IS NOT NULL THEN GREATEST(0, $4::date - last_day)::float8 END`,
    [FEATURES.keyFeaturesUsed30d]: keyFeatures > 0 ? `CASE WHEN ${judged} THEN kf::float8 / ${f8(keyFeatures)} END` : 'NULL::float8',
    [FEATURES.valueMilestones]: `CASE WHEN ${judged} THEN ms::float8 END`,
    [FEATURES.nps]: 'nps::float8',
    [FEATURES.csat]: 'csat',
    [FEATURES.ticketsPerActiveUser30d]: `t30::float8 / GREATEST(1, au30)::float8`,
    [FEATURES.reopenRate90d]: `CASE WHEN t90 > 0 THEN r90::float8 / t90::float8 END`,
    [FEATURES.negativeContacts30d]: 'neg30::float8',
    [FEATURES.openEscalations]: 'esc::float8',
    [FEATURES.paymentFailed30d]: 'pf30::float8',
    [FEATURES.downgraded90d]: `CASE WHEN dg90 > 0 THEN ${f8(1)} ELSE ${f8(0)} END`,
  };
  // Lifecycle's contract-size segment when it decided one, else contractSize(plan, ARR) (a plan named
  // trial/free: ASCII letters compared case-insensitively, as /trial|free/i does).
  const plan = `translate(plan, 'TRIALFE', 'trialfe')`;
  const segment =
    `CASE WHEN contract_size IN (${CONTRACT_SIZES.map(sqlText).join(', ')}) THEN contract_size` +
    ` WHEN ${plan} LIKE '%trial%' OR ${plan} LIKE '%free%' THEN ${sqlText(ContractSize.Freemium)}` +
    ` WHEN arr IS NULL THEN NULL WHEN arr::float8 <= ${f8(0)} THEN ${sqlText(ContractSize.Freemium)}` +
    ` WHEN arr::float8 >= ${f8(o.enterpriseArr)} THEN ${sqlText(ContractSize.Enterprise)} ELSE ${sqlText(ContractSize.Smb)} END`;
  const anyActivity = `(last_day IS NOT NULL OR t90 > 0 OR nps IS NOT NULL OR csat IS NOT NULL OR pf30 + dg90 > 0)`;
  const derived =
    `SELECT account_id, old_band, emitted_score, emitted_band, prev_features, prev_computed_at, prev_last_event_id, pv,` +
    ` ${SCORED_FEATURES.map((f) => `${features[f] ?? 'NULL::float8'} AS ${featureColumn(f)}`).join(', ')},` +
    ` ${segment} AS segment, ${anyActivity} AS any_activity FROM (${young}) y OFFSET 0`;

  // The scorecard each account is scored with: scorecardForSegment of its segment (index in `scorecards`).
  const cardOf = (segment: string | undefined) => o.scorecards.indexOf(scorecardForSegment(o.scorecards, segment));
  const card =
    `CASE WHEN NOT any_activity THEN NULL ${CONTRACT_SIZES.map((s) => `WHEN segment = ${sqlText(s)} THEN ${cardOf(s)}`).join(' ')}` +
    ` ELSE ${cardOf(undefined)} END`;
  const prevCard = o.previous.length ? `CASE pv ${o.previous.map((c, i) => `WHEN ${c.version} THEN ${i}`).join(' ')} END` : 'NULL::int';
  // The features as account_health stores them (float8[] in STORED_FEATURE_ORDER), built here (for
  // applySql) so that the scoring stages pass one column on to the UPDATE instead of seventeen.
  const stored = STORED_FEATURE_ORDER.map((f) => (SCORED_FEATURES.includes(f) ? featureColumn(f) : 'NULL::float8'));
  const featuresArray = withFeatures ? `, ARRAY[${stored.join(', ')}]::float8[] AS features_array` : '';
  const columns = [
    'account_id', 'old_band', 'emitted_score', 'emitted_band', 'prev_features', 'prev_computed_at', 'prev_last_event_id',
    ...SCORED_FEATURES.map(featureColumn), 'segment', 'card', 'prev_card', ...(withFeatures ? ['features_array'] : []),
  ];
  const sql = `SELECT *, ${card} AS card, ${prevCard} AS prev_card${featuresArray} FROM (${derived}) d`;
  return { sql, columns };
}

/**
 * A dry run of one range: accounts per (band before, band after), where after is the band the
 * account would get (its current band when it would not be scored: no activity, no data).
 * Rows: old_band, new_band, n.
 */
export function dryRunSql(t: TableOf, o: RescoreSqlOptions): string {
  const src = source(t, { ...o, previous: [] });
  const scored = scoringSql(src.sql, src.columns, { cards: o.scorecards, keep: ['old_band'] });
  return `SELECT old_band, COALESCE(band, old_band) AS new_band, count(*)::int AS n FROM (${scored}) s GROUP BY 1, 2`;
}

/**
 * Rescores one range and applies it: account_health updated (score, band, scorecard version,
 * features, segment, the emitted score when a change is emitted), and for every account whose
 * score moved by at least minDelta since the last emitted one or whose band changed, a
 * health_change row (with its top movers), all in one statement; and when there are changes, one
 * outbox row standing for their cs.health.score.changed.v1 events (HEALTH_CHANGES_EXPANSION: the
 * relay reads them from health_change, healthChangeEventsSql). A copy of each event in the outbox
 * was 45 % of the statement's WAL. An account rescored by the streaming path after this statement's snapshot is left
 * as that path wrote it (its computed_at and last_event_id no longer match). Rows: old_band,
 * new_band, n, changes (the same on every row).
 */
export function applySql(t: TableOf, o: RescoreSqlOptions): string {
  const src = source(t, o, true);
  const cardId = o.scorecards.length ? `CASE card ${o.scorecards.map((c, i) => `WHEN ${i} THEN ${sqlText(c.id)}`).join(' ')} END` : 'NULL::text';
  const cardVersion = o.scorecards.length ? `CASE card ${o.scorecards.map((c, i) => `WHEN ${i} THEN ${c.version}`).join(' ')} END` : 'NULL::int';
  const scored = scoringSql(src.sql, src.columns, {
    cards: o.scorecards,
    previous: o.previous,
    minDelta: o.minDelta,
    keep: ['account_id', 'old_band', 'emitted_score', 'emitted_band', 'prev_computed_at', 'prev_last_event_id', 'segment', 'features_array'],
    output: [`${cardId} AS card_id`, `${cardVersion} AS card_version`, `CASE WHEN changed THEN gen_random_uuid()::text END AS event_id`],
  });
  return `
    WITH s AS MATERIALIZED (${scored}),
    u AS (
      UPDATE ${t(AccountHealth)} h
         SET score = s.score, band = s.band, scorecard_id = s.card_id, scorecard_version = s.card_version, computed_at = $5,
             last_event_id = $15, segment = s.segment, features = s.features_array,
             emitted_score = CASE WHEN s.changed THEN s.score::numeric ELSE h.emitted_score END,
             emitted_band = CASE WHEN s.changed THEN s.band ELSE h.emitted_band END
        FROM s
       WHERE s.score IS NOT NULL AND h.account_id > $2 AND h.account_id <= $3 AND h.account_id = s.account_id AND h.computed_at = s.prev_computed_at AND h.last_event_id = s.prev_last_event_id
      RETURNING s.account_id, s.changed, s.event_id, s.score, s.band, s.emitted_score, s.emitted_band, s.card_id, s.card_version, s.movers
    ),
    c AS (
      INSERT INTO ${t(HealthChange)} (account_id, event_id, score, band, previous_score, previous_band, scorecard_id, scorecard_version, movers, computed_at, outbox_batch)
      SELECT account_id, event_id, score, band, emitted_score, emitted_band, card_id, card_version, movers, $5, $19::uuid FROM u WHERE changed
    ),
    o AS (
      INSERT INTO ${o.outboxTable} (event_id, topic, message_key, envelope, headers)
      SELECT $19::text, ${sqlText(Topics.health)}, $1::text,
             json_build_object('type', ${sqlText(OUTBOX_EXPAND_TYPE)}, 'data', json_build_object('kind', ${sqlText(HEALTH_CHANGES_EXPANSION)},
               'batch', $19::text, 'after', $2::text, 'upTo', $3::text, 'time', $16::text, 'source', $18::text)), $17::json
       WHERE EXISTS (SELECT FROM u WHERE changed)
    )
    SELECT old_band, COALESCE(band, old_band) AS new_band, count(*)::int AS n, (SELECT count(*)::int FROM u WHERE changed) AS changes FROM s GROUP BY 1, 2`;
}

/**
 * The kind of outbox row a backfill range writes for its changes. Its data: `batch` (health_change's
 * outbox_batch), `after` and `upTo` (the range), `time` (computed_at as ISO 8601 text, the events'
 * time), `source` (the events' source).
 */
export const HEALTH_CHANGES_EXPANSION = 'health-changes';

export interface HealthChangesExpansion {
  batch: string;
  after: string;
  upTo: string;
  time: string;
  source: string;
}

/**
 * One page of the cs.health.score.changed.v1 events of a backfill range's outbox batch, as the
 * streaming path's envelope (HealthScorer) would be: $1 the range's lower bound or the page's cursor
 * (the last account sent: one change per account and batch), $2 its upper bound, $3 the batch, $4 the
 * time as ISO 8601 text, $5 the source, $6 the page's size. Read in the order of the index on
 * (account_id, computed_at). Rows: cursor, event_id, message_key, value.
 */
export function healthChangeEventsSql(t: TableOf): string {
  // The envelope's JSON written as text (strings through to_json for their escaping): building a
  // jsonb object and printing it was three quarters of the query's time (17.6 ms a page of 2,000).
  const str = (x: string) => `to_json(${x})::text`;
  const orNull = (x: string) => `COALESCE(${x}, 'null')`;
  const data =
    `'{"score": ' || score::float8::text || ', "band": ' || ${str('band')} || ', "previousScore": ' || ${orNull('previous_score::float8::text')} ||` +
    ` ', "previousBand": ' || ${orNull(str('previous_band'))} || ', "scorecardId": ' || ${str('scorecard_id')} ||` +
    ` ', "scorecardVersion": ' || scorecard_version::text || ', "topMovers": ' || ${orNull('movers::text')} || ', "computedAt": ' || ${str('$4::text')} || '}'`;
  return `
    SELECT account_id AS cursor, event_id, account_id AS message_key,
           '{"specversion": "1.0", "id": ' || ${str('event_id')} || ', "source": ' || ${str('$5::text')} || ', "type": "cs.health.score.changed.v1", "subject": ' ||
             ${str('account_id')} || ', "time": ' || ${str('$4::text')} || ', "datacontenttype": "application/json", "data": ' || ${data} || '}' AS value
      FROM ${t(HealthChange)}
     WHERE account_id > $1 AND account_id <= $2 AND computed_at = $4::timestamptz AND outbox_batch = $3::uuid
     ORDER BY account_id LIMIT $6`;
}
