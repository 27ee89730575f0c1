import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import {
  ALL_TOPICS, HealthBand, ManualClock, Topics, createEvent, topicOf, type CloudEvent, type EventType, type PayloadOf, type SubscriptionChange,
} from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { documentedRoutes, recordRoutes, startConsumerGroupAtEnd, testKafka, testToken, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { DEFAULT_LIFECYCLE_RULES } from '@kizuna/lifecycle/domain';
import { LifecycleModule } from './lifecycle.module';
import { LifecycleTicker } from './lifecycle-ticker.service';

/**
 * lifecycle in-process against the real broker and Postgres, with a manual clock.
 *
 * The acceptance scenario: a scripted year (2026) of a small customer base, published as
 * events, gives the phase histories and the KPIs (Q2 and Q3) computed by hand below; the same
 * events shuffled and duplicated give the same histories and KPIs.
 */

const END_OF_YEAR = '2026-12-31T00:00:00.000Z';
const Q2 = { from: '2026-04-01T00:00:00.000Z', to: '2026-07-01T00:00:00.000Z' };
const Q3 = { from: '2026-07-01T00:00:00.000Z', to: '2026-10-01T00:00:00.000Z' };
const at = (date: string, time = '10:00') => new Date(`${date}T${time}:00.000Z`).toISOString();
const midnight = (date: string) => at(date, '00:00');
const DAY = 86_400_000;
const days = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / DAY;

/** The accounts of the scripted year, by role. */
const ROLES = ['steady', 'expanding', 'declining', 'cancelling', 'reactivated', 'newQ2', 'lateQ2', 'newQ3', 'stalledQ3'] as const;
type Role = (typeof ROLES)[number];

interface Fact {
  /** Stable per fact: a re-sent fact carries the same natural id (messageId, changeId, responseId). */
  id: string;
  type: EventType;
  role: Role;
  time: string;
  data: (accountId: string) => PayloadOf<EventType>;
}

function scriptedYear(): Fact[] {
  const facts: Fact[] = [];
  let n = 0;
  const push = (role: Role, type: EventType, time: string, data: (accountId: string, id: string) => PayloadOf<EventType>) => {
    const id = `f${++n}`;
    facts.push({ id, type, role, time, data: (acc) => data(acc, `${id}@${acc}`) });
  };
  const start = (role: Role, date: string, arr: number, renewal: string, extra: Record<string, unknown> = {}) =>
    push(role, 'cs.directory.account.updated.v1', midnight(date), (acc, id) => ({
      sourceId: 'test', messageId: id, accountId: acc,
      traits: { name: `${role} Inc`, arr, plan: 'Pro', contractStart: midnight(date), renewalDate: midnight(renewal), region: 'emea', ownerCsmEmail: 'csm@kizuna.invalid', ...extra },
      rawTraits: {}, timestamp: midnight(date),
    }) as PayloadOf<'cs.directory.account.updated.v1'>);
  const track = (role: Role, time: string, event: string) =>
    push(role, 'cs.product.track.v1', time, (acc, id) => ({
      kind: 'track', sourceId: 'test', messageId: id, accountId: acc, userId: 'u1', event, properties: {}, timestamp: time, receivedAt: time,
    }) as PayloadOf<'cs.product.track.v1'>);
  const milestones = (role: Role, [a, b, c]: [string, string?, string?]) => {
    track(role, at(a), 'Workspace Created');
    if (b) track(role, at(b), 'Teammate Invited');
    if (c) track(role, at(c), 'First Report Shared');
  };
  const billing = (role: Role, time: string, change: SubscriptionChange, extra: { effectiveAt?: string; arr?: number; termEnd?: string } = {}) =>
    push(role, 'cs.billing.subscription.changed.v1', time, (acc, id) => ({
      sourceId: 'test', changeId: id, accountId: acc, subscriptionId: `sub-${acc}`, change, effectiveAt: extra.effectiveAt ?? time,
      ...(extra.arr !== undefined ? { arr: extra.arr } : {}), ...(extra.termEnd ? { termEnd: extra.termEnd } : {}),
    }) as PayloadOf<'cs.billing.subscription.changed.v1'>);
  const survey = (role: Role, time: string, kind: 'nps' | 'csat', score: number) =>
    push(role, 'cs.survey.answered.v1', time, (acc, id) => ({ sourceId: 'test', responseId: id, accountId: acc, kind, score, answeredAt: time }) as PayloadOf<'cs.survey.answered.v1'>);
  const health = (role: Role, time: string, band: HealthBand) =>
    push(role, 'cs.health.score.changed.v1', time, () => ({
      score: band === HealthBand.Danger ? 20 : 80, band, previousScore: null, previousBand: null, scorecardId: 'smb', scorecardVersion: 1, topMovers: [], computedAt: time,
    }) as PayloadOf<'cs.health.score.changed.v1'>);
  const identify = (role: Role, time: string, userId: string, traits: Record<string, unknown>) =>
    push(role, 'cs.directory.user.identified.v1', time, (acc, id) => ({ sourceId: 'test', messageId: id, userId, accountId: acc, traits, timestamp: time }) as PayloadOf<'cs.directory.user.identified.v1'>);

  // steady: SMB, ARR 24,000 (MRR 2,000), onboarded on time, healthy, promoter; renews 2027-01-05.
  start('steady', '2026-01-05', 24_000, '2027-01-05');
  identify('steady', at('2026-01-05', '09:00'), 'admin-1', { role: 'admin' });
  identify('steady', at('2026-01-06', '09:00'), 'user-2', { role: 'member' });
  milestones('steady', ['2026-01-06', '2026-01-07', '2026-01-10']);
  health('steady', at('2026-03-01'), HealthBand.Good);
  survey('steady', at('2026-04-15'), 'nps', 9);
  survey('steady', at('2026-06-01'), 'csat', 5);
  survey('steady', at('2026-08-20'), 'nps', 8);
  // expanding: ARR 36,000 (MRR 3,000), upgraded on 2026-05-10 to 60,000 (MRR 5,000).
  start('expanding', '2026-02-01', 36_000, '2027-02-01');
  milestones('expanding', ['2026-02-02', '2026-02-03', '2026-02-06']);
  survey('expanding', at('2026-05-01'), 'nps', 10);
  billing('expanding', at('2026-05-10'), 'upgraded', { arr: 60_000 });
  // declining: ARR 48,000 (MRR 4,000); danger from 04-20 to 07-10; downgraded on 08-01 to 24,000 (MRR 2,000); renews 12-01, renewed 11-20.
  start('declining', '2026-01-15', 48_000, '2026-12-01');
  milestones('declining', ['2026-01-16', '2026-01-17', '2026-01-20']);
  health('declining', at('2026-04-20'), HealthBand.Danger);
  survey('declining', at('2026-05-05'), 'nps', 3);
  survey('declining', at('2026-06-02'), 'csat', 2);
  health('declining', at('2026-07-10'), HealthBand.Good);
  billing('declining', at('2026-08-01'), 'downgraded', { arr: 24_000 });
  survey('declining', at('2026-09-05'), 'nps', 7);
  billing('declining', at('2026-11-20'), 'renewed', { termEnd: midnight('2027-12-01') });
  // cancelling: ARR 30,000 (MRR 2,500); cancels on 05-20, effective 06-15.
  start('cancelling', '2026-01-10', 30_000, '2027-01-10');
  milestones('cancelling', ['2026-01-11', '2026-01-12', '2026-01-15']);
  survey('cancelling', at('2026-05-25'), 'nps', 5);
  billing('cancelling', at('2026-05-20'), 'cancelled', { effectiveAt: midnight('2026-06-15') });
  // reactivated: ARR 18,000 (MRR 1,500); cancels 04-10 effective 04-30; reactivated 05-20.
  start('reactivated', '2026-01-20', 18_000, '2027-01-20');
  milestones('reactivated', ['2026-01-21', '2026-01-22', '2026-01-25']);
  billing('reactivated', at('2026-04-10'), 'cancelled', { effectiveAt: midnight('2026-04-30') });
  billing('reactivated', at('2026-05-20'), 'reactivated', { arr: 18_000 });
  // newQ2: ARR 12,000 (MRR 1,000) from 05-04, onboarded on time in 6.42 days; upgraded 09-10 to 18,000 (MRR 1,500).
  start('newQ2', '2026-05-04', 12_000, '2027-05-04');
  milestones('newQ2', ['2026-05-05', '2026-05-07', '2026-05-10']);
  billing('newQ2', at('2026-09-10'), 'upgraded', { arr: 18_000 });
  // lateQ2: ARR 9,600 (MRR 800) from 06-01, onboarded late (20.42 days); cancels 09-01 effective 09-15.
  start('lateQ2', '2026-06-01', 9_600, '2027-06-01');
  milestones('lateQ2', ['2026-06-03', '2026-06-13', '2026-06-21']);
  billing('lateQ2', at('2026-09-01'), 'cancelled', { effectiveAt: midnight('2026-09-15') });
  // newQ3: enterprise, ARR 120,000 (MRR 10,000) from 07-06, onboarded on time (7/14/30 days) in 25.42 days; promoter.
  start('newQ3', '2026-07-06', 120_000, '2027-07-06');
  milestones('newQ3', ['2026-07-09', '2026-07-16', '2026-07-31']);
  survey('newQ3', at('2026-08-15'), 'nps', 9);
  // stalledQ3: ARR 6,000 (MRR 500) from 08-03; creates its workspace and stops there.
  start('stalledQ3', '2026-08-03', 6_000, '2027-08-03');
  milestones('stalledQ3', ['2026-08-04']);
  return facts;
}

/** The phase histories the scripted year must produce: [to, at]. */
const EXPECTED_PHASES: Record<Role, [string, string][]> = {
  steady: [['onboarding', midnight('2026-01-05')], ['adoption', at('2026-01-10')], ['renewal', midnight('2026-10-07')]],
  expanding: [['onboarding', midnight('2026-02-01')], ['adoption', at('2026-02-06')], ['expansion', at('2026-05-10')], ['adoption', at('2026-08-08')], ['renewal', midnight('2026-11-03')]],
  declining: [
    ['onboarding', midnight('2026-01-15')], ['adoption', at('2026-01-20')], ['retention', at('2026-04-20')], ['adoption', at('2026-07-10')],
    ['renewal', midnight('2026-09-02')], ['adoption', at('2026-11-20')],
  ],
  cancelling: [['onboarding', midnight('2026-01-10')], ['adoption', at('2026-01-15')], ['retention', at('2026-05-20')], ['churned', midnight('2026-06-15')]],
  reactivated: [
    ['onboarding', midnight('2026-01-20')], ['adoption', at('2026-01-25')], ['retention', at('2026-04-10')], ['churned', midnight('2026-04-30')],
    ['retention', at('2026-05-20')], ['adoption', at('2026-06-19')], ['renewal', midnight('2026-10-22')],
  ],
  newQ2: [['onboarding', midnight('2026-05-04')], ['adoption', at('2026-05-10')], ['expansion', at('2026-09-10')], ['adoption', at('2026-12-09')]],
  lateQ2: [['onboarding', midnight('2026-06-01')], ['adoption', at('2026-06-21')], ['retention', at('2026-09-01')], ['churned', midnight('2026-09-15')]],
  newQ3: [['onboarding', midnight('2026-07-06')], ['adoption', at('2026-07-31')]],
  stalledQ3: [['onboarding', midnight('2026-08-03')]],
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('lifecycle service', () => {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const kafka = testKafka();
  let app: NestFastifyApplication;
  let producer: Producer;
  let lifecycle: TopicRecorder;
  const accountIds = new Set<string>();
  let routes = new Set<string>();
  const spec = openApiDocument('lifecycle.openapi.yaml');
  const prefix = `it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    process.env['LIFECYCLE_TICK_INTERVAL_MS'] = '3600000';
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: prefix, KAFKA_RETRY_BACKOFF_MS: '10' });
    // Only this suite's events: other suites leave thousands of product events on the shared broker.
    await startConsumerGroupAtEnd(kafka, `${prefix}.lifecycle`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'lifecycle', defaultPort: 0, data: lifecycleData, feature: LifecycleModule }, config, logger, clock);
    app = await createServiceApp({ name: 'lifecycle', module: root, config, logger, defaultPort: 0, openApi: spec });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    producer = kafka.producer();
    await producer.connect();
    lifecycle = await new TopicRecorder(kafka, [Topics.lifecycle], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await lifecycle?.stop();
    await producer?.disconnect();
    await app?.close();
  });

  const api = async (method: 'GET' | 'PUT', url: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const authorization = `Bearer ${await testToken({ roles: ['admin'] })}`;
    const r = await app.inject({ method, url, headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    return { status: r.statusCode, json: JSON.parse(r.body) };
  };
  const envelope = (f: Fact, accountId: string): CloudEvent =>
    createEvent('kizuna/test', { type: f.type, subject: accountId, data: f.data(accountId) as never, time: f.time }, clock.now()) as CloudEvent;
  const send = async (events: CloudEvent[]) => {
    const byTopic = new Map<string, CloudEvent[]>();
    for (const e of events) byTopic.set(topicOf(e.type), [...(byTopic.get(topicOf(e.type)) ?? []), e]);
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, es]) => ({ topic, messages: es.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) })) });
  };
  /**
   * Events of these accounts this instance applied. Its own consumer's rows only: the security suite
   * runs lifecycle on the same database (own group) and may apply the same events, which would
   * overshoot the exact counts waited for below.
   */
  const inboxCount = async (ids: string[]) => {
    const [{ n }] = await app.get(DataSource).query(`SELECT count(*)::int AS n FROM lifecycle.inbox WHERE account_id = ANY($1) AND consumer = $2`, [ids, `${prefix}.lifecycle`]);
    return n as number;
  };
  const customerBase = (tag: string) => {
    const industry = `year-${tag}-${randomUUID().slice(0, 8)}`;
    const ids = Object.fromEntries(ROLES.map((r) => [r, `acc-${tag}-${r}-${randomUUID().slice(0, 8)}`])) as Record<Role, string>;
    for (const id of Object.values(ids)) accountIds.add(id);
    return { industry, ids };
  };
  /** The scripted year for a customer base (every account in its own industry segment). */
  const eventsFor = (base: { industry: string; ids: Record<Role, string> }, facts: Fact[]) =>
    facts.map((f) => {
      const e = envelope(f, base.ids[f.role]);
      if (f.type === 'cs.directory.account.updated.v1') (e.data as Json)['traits']['industry'] = base.industry;
      return e;
    });
  const phaseHistory = async (accountId: string) => {
    const r = await api('GET', `/v1/accounts/${accountId}`);
    return (r.json['phase']['history'] as Json[]).map((t) => [t['to'], t['at']]);
  };
  const allTransitions = async (accountId: string) => {
    const rows: Json[] = await app.get(DataSource).query(
      `SELECT kind, dimension, from_value, to_value, at FROM lifecycle.lifecycle_transition WHERE account_id = $1 ORDER BY at, kind, dimension, to_value`,
      [accountId],
    );
    // The industry (the base's own segment) differs between the two bases by construction.
    return rows.map((r) => `${r['kind']}/${r['dimension'] ?? ''} ${r['from_value']}→${r['dimension'] === 'industry' ? '(industry)' : r['to_value']} @${(r['at'] as Date).toISOString()}`);
  };
  const kpis = async (industry: string, period: { from: string; to: string }) => (await api('GET', `/v1/kpis?from=${period.from}&to=${period.to}&segment=industry:${industry}&cac=2000`)).json;

  const inOrder = customerBase('a');
  const shuffled = customerBase('b');
  const facts = scriptedYear();

  it('a scripted year of a customer base gives the expected phase histories and, for Q2 and Q3, the KPIs computed by hand', async () => {
    // In time order; the accounts' first facts (directory) first, as a CRM sync would send them.
    const events = eventsFor(inOrder, [...facts].sort((x, y) => Date.parse(x.time) - Date.parse(y.time)));
    const ids = Object.values(inOrder.ids);
    const starts = events.filter((e) => e.type === 'cs.directory.account.updated.v1');
    await send(starts);
    await waitFor('the accounts created', async () => ((await inboxCount(ids)) === starts.length ? true : undefined), { timeoutMs: 60000 });
    await send(events.filter((e) => e.type !== 'cs.directory.account.updated.v1'));
    await waitFor('every event of the year consumed', async () => ((await inboxCount(ids)) === events.length ? true : undefined), { timeoutMs: 60000 });
    clock.set(END_OF_YEAR);
    await app.get(LifecycleTicker).tickOnce();

    for (const role of ROLES) expect([role, await phaseHistory(inOrder.ids[role])]).toEqual([role, EXPECTED_PHASES[role]]);

    // Q2: paying at the start (MRR before 04-01): steady 2,000, expanding 3,000, declining 4,000,
    // cancelling 2,500, reactivated 1,500 = 13,000. Cancelling churns (-2,500), expanding expands
    // (+2,000), reactivated churns and comes back within the quarter (no movement, not a churned logo).
    const q2 = await kpis(inOrder.industry, Q2);
    expect(q2['grossRevenueRetention'].value).toBeCloseTo((13_000 - 2_500) / 13_000, 10);
    expect(q2['netRevenueRetention'].value).toBeCloseTo((13_000 - 2_500 + 2_000) / 13_000, 10);
    expect(q2['revenueChurnRate'].value).toBeCloseTo(2_500 / 13_000, 10);
    expect(q2['logoChurnRate'].value).toBeCloseTo(1 / 5, 10);
    expect(q2['averageRevenuePerAccount'].value).toBeCloseTo(13_000 / 5, 10);
    // Onboarding: newQ2 on time (6.42 days), lateQ2 complete but late (20.42 days).
    expect(q2['onboardingCompletionRate'].value).toBeCloseTo(1 / 2, 10);
    expect(q2['medianTimeToOnboard'].value).toBeCloseTo((days(midnight('2026-05-04'), at('2026-05-10')) + days(midnight('2026-06-01'), at('2026-06-21'))) / 2, 6);
    // NPS: 9, 10 (promoters), 3, 5 (detractors) → 0; CSAT 5 and 2 → 3.5.
    expect(q2['netPromoterScore'].value).toBe(0);
    expect(q2['csatAverage'].value).toBe(3.5);
    expect(q2['accountsPerPhase'].value.counts).toEqual({ onboarding: 0, adoption: 4, expansion: 1, renewal: 0, retention: 1, churned: 1 });
    expect(q2['healthDistribution'].value.counts).toEqual({ good: 1, caution: 0, danger: 1 });
    // declining is shifted low → high while in danger; expanding is high from its upgrade.
    expect(q2['accountsPerTouchModel'].value.counts).toEqual({ high: 2, low: 4, tech: 1 });
    // LTV: ARPA 2,600 × 0.8 / monthly logo churn (0.2 × 30 / 91 days); LTV/CAC with CAC 2,000.
    const ltv = (2_600 * 0.8) / ((0.2 * 30) / 91);
    expect(q2['averageLtv'].value).toBeCloseTo(ltv, 6);
    expect(q2['ltvToCac'].value).toBeCloseTo(ltv / 2_000, 6);
    expect(q2['logoChurnRate'].definition).toMatch(/customers/);
    expect(q2['logoChurnRate'].period).toEqual(Q2);

    // Q3: paying at the start: steady 2,000, expanding 5,000, declining 4,000, reactivated 1,500,
    // newQ2 1,000, lateQ2 800 = 14,300 (cancelling churned in Q2 is out). declining contracts
    // (-2,000), lateQ2 churns (-800), newQ2 expands (+500).
    const q3 = await kpis(inOrder.industry, Q3);
    expect(q3['grossRevenueRetention'].value).toBeCloseTo((14_300 - 2_000 - 800) / 14_300, 10);
    expect(q3['netRevenueRetention'].value).toBeCloseTo((14_300 - 2_000 - 800 + 500) / 14_300, 10);
    expect(q3['revenueChurnRate'].value).toBeCloseTo(2_800 / 14_300, 10);
    expect(q3['logoChurnRate'].value).toBeCloseTo(1 / 6, 10);
    // newQ3 on time (25.42 days), stalledQ3 never completes.
    expect(q3['onboardingCompletionRate'].value).toBeCloseTo(1 / 2, 10);
    expect(q3['medianTimeToOnboard'].value).toBeCloseTo(days(midnight('2026-07-06'), at('2026-07-31')), 6);
    // NPS: 9 (promoter), 8 and 7 (passives) → 33.3; no CSAT answer → null, not 0.
    expect(q3['netPromoterScore'].value).toBeCloseTo(100 / 3, 10);
    expect(q3['csatAverage'].value).toBeNull();
    expect(q3['accountsPerPhase'].value.counts).toEqual({ onboarding: 1, adoption: 4, expansion: 1, renewal: 1, retention: 0, churned: 2 });
    expect(q3['healthDistribution'].value.counts).toEqual({ good: 2, caution: 0, danger: 0 });
  });

  it('the same events shuffled and duplicated give the same histories, transitions and KPIs', async () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const base = eventsFor(shuffled, facts);
    // Duplicates: some envelopes redelivered as they are (inbox), some facts re-sent under a new envelope id (natural keys).
    const again = base.filter(() => rnd() < 0.3);
    const resent = base.filter(() => rnd() < 0.2).map((e) => ({ ...e, id: randomUUID() }));
    const events = [...base, ...again, ...resent].map((e) => ({ e, k: rnd() })).sort((a, b) => a.k - b.k).map((x) => x.e);
    clock.set('2026-01-01T00:00:00Z');
    await send(events);
    const ids = Object.values(shuffled.ids);
    await waitFor('every distinct event consumed', async () => ((await inboxCount(ids)) === base.length + resent.length ? true : undefined), { timeoutMs: 60000 });
    clock.set(END_OF_YEAR);
    await app.get(LifecycleTicker).tickOnce();

    for (const role of ROLES) {
      expect([role, await phaseHistory(shuffled.ids[role])]).toEqual([role, EXPECTED_PHASES[role]]);
      expect([role, await allTransitions(shuffled.ids[role])]).toEqual([role, await allTransitions(inOrder.ids[role])]);
    }
    for (const period of [Q2, Q3]) {
      const a = await kpis(inOrder.industry, period);
      const b = await kpis(shuffled.industry, period);
      expect({ ...b, segment: null }).toEqual({ ...a, segment: null });
    }

    // Every transition kept in the history went out on cs.lifecycle.v1 under its id, once per id.
    const stored: { event_id: string; account_id: string }[] = await app.get(DataSource).query(
      `SELECT event_id, account_id FROM lifecycle.lifecycle_transition WHERE account_id = ANY($1)`,
      [[...ids, ...Object.values(inOrder.ids)]],
    );
    const seen = await waitFor('every stored transition on cs.lifecycle.v1', () => {
      const got = new Set(lifecycle.messages.map((m) => (JSON.parse(m.value ?? '{}') as CloudEvent).id));
      return stored.every((s) => got.has(s.event_id)) ? got : undefined;
    });
    expect(seen.size).toBeGreaterThanOrEqual(stored.length);
    const inOrderIds = lifecycle.messages.filter((m) => Object.values(inOrder.ids).includes(m.key ?? '')).map((m) => (JSON.parse(m.value ?? '{}') as CloudEvent).id);
    expect(new Set(inOrderIds).size).toBe(inOrderIds.length);
  });

  it('emits every change with its cause: phases, touch model, segments, renewal windows, onboarding stalls', async () => {
    /** The account's events on cs.lifecycle.v1 that are in its final history, in time order. */
    const ofAccount = async (role: Role): Promise<CloudEvent[]> => {
      const stored: { event_id: string }[] = await app.get(DataSource).query(`SELECT event_id FROM lifecycle.lifecycle_transition WHERE account_id = $1`, [inOrder.ids[role]]);
      const wanted = new Set(stored.map((r) => r.event_id));
      return waitFor(`the ${role} events`, () => {
        const es = lifecycle.messages.filter((m) => m.key === inOrder.ids[role]).map((m) => JSON.parse(m.value ?? '{}') as CloudEvent);
        const final = [...new Map(es.filter((e) => wanted.has(e.id)).map((e) => [e.id, e])).values()];
        return final.length === wanted.size ? final.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)) : undefined;
      });
    };
    const declining = await ofAccount('declining');
    const opened = declining.filter((e) => e.type === 'cs.lifecycle.renewal-window.opened.v1');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.data).toMatchObject({ renewalDate: midnight('2026-12-01'), daysBefore: 90, openedAt: midnight('2026-09-02') });
    expect((opened[0]?.data as Json)['cause']).toMatch(/renewal on 2026-12-01/);
    const touch = declining.filter((e) => e.type === 'cs.lifecycle.touch-model.changed.v1').map((e) => [(e.data as Json)['to'], e.time]);
    expect(touch).toEqual([['low', midnight('2026-01-15')], ['high', at('2026-04-20')], ['low', at('2026-07-10')]]);
    const risk = declining.find((e) => e.type === 'cs.lifecycle.phase.changed.v1' && (e.data as Json)['to'] === 'retention');
    expect((risk?.data as Json)['cause']).toMatch(/^health-risk: health band danger/);
    const loyalty = declining.filter((e) => e.type === 'cs.lifecycle.segment.changed.v1' && (e.data as Json)['dimension'] === 'nps-loyalty').map((e) => (e.data as Json)['to']);
    expect(loyalty).toEqual(['detractor', 'passive']);

    const stalled = (await ofAccount('stalledQ3')).filter((e) => e.type === 'cs.lifecycle.onboarding.stalled.v1');
    expect(stalled.map((e) => [(e.data as Json)['milestone'], (e.data as Json)['dueAt'], e.time])).toEqual([
      ['Teammate Invited', midnight('2026-08-10'), midnight('2026-08-10')],
      ['First Report Shared', midnight('2026-08-17'), midnight('2026-08-17')],
    ]);
    expect((stalled[0]?.data as Json)['cause']).toMatch(/Teammate Invited/);
    const lateStall = (await ofAccount('lateQ2')).filter((e) => e.type === 'cs.lifecycle.onboarding.stalled.v1');
    expect(lateStall.map((e) => (e.data as Json)['milestone'])).toEqual(['Teammate Invited', 'First Report Shared']);
    const churn = (await ofAccount('cancelling')).find((e) => e.type === 'cs.lifecycle.phase.changed.v1' && (e.data as Json)['to'] === 'churned');
    expect((churn?.data as Json)['cause']).toMatch(/^cancellation-effective: /);
    expect(churn?.time).toBe(midnight('2026-06-15'));
  });

  it('serves the account view and the filtered list', async () => {
    const view = (await api('GET', `/v1/accounts/${inOrder.ids.declining}`)).json;
    expect(view['profile']).toMatchObject({
      name: 'declining Inc', ownerCsmEmail: 'csm@kizuna.invalid', industry: inOrder.industry, region: 'emea', contractSize: 'smb', arr: 24_000, mrr: 2_000,
      renewalDate: midnight('2027-12-01'), status: 'active',
    });
    expect(view['phase']).toMatchObject({ current: 'adoption', rule: 'adopted' });
    expect(view['phase']['cause']).toMatch(/^renewed: /);
    expect(view['touchModel']).toMatchObject({ current: 'low', reason: 'ARR 24000 >= 10000: low' });
    expect(view['segments']['current']).toMatchObject({ 'contract-size': 'smb', 'nps-loyalty': 'passive', 'health-band': 'good', 'usage-status': 'dormant' });
    const stalled = (await api('GET', `/v1/accounts/${inOrder.ids.stalledQ3}`)).json;
    expect(stalled['onboarding']).toMatchObject({ complete: false, contractSize: 'smb' });
    expect(stalled['onboarding']['milestones'].map((m: Json) => m['completedAt'] !== null)).toEqual([true, false, false]);
    expect((await api('GET', '/v1/accounts/nobody')).status).toBe(404);

    const churned = (await api('GET', `/v1/accounts?phase=churned&segment=industry:${inOrder.industry}`)).json;
    expect(churned['items'].map((i: Json) => i['accountId']).sort()).toEqual([inOrder.ids.cancelling, inOrder.ids.lateQ2].sort());
    const renewing = (await api('GET', `/v1/accounts?renewalWithinDays=30&segment=industry:${inOrder.industry}`)).json;
    expect(renewing['items'].map((i: Json) => i['accountId'])).toEqual([inOrder.ids.steady, inOrder.ids.reactivated]);
    const high = (await api('GET', `/v1/accounts?touchModel=high&segment=industry:${inOrder.industry}&limit=1`)).json;
    expect(high).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect((await api('GET', '/v1/accounts?phase=sleeping')).status).toBe(400);
    expect((await api('GET', '/v1/kpis?from=2026-05-01T00:00:00Z&to=2026-04-01T00:00:00Z')).status).toBe(400);
    expect((await api('GET', '/v1/kpis?grossMargin=2')).status).toBe(400);
  });

  it('restarts onboarding on a reset: a new admin, a new workspace', async () => {
    const base = customerBase('reset');
    const acc = base.ids.steady;
    clock.set('2026-03-01T00:00:00Z');
    const f = (type: EventType, time: string, data: Json): CloudEvent =>
      createEvent('kizuna/test', { type, subject: acc, data: { sourceId: 'test', accountId: acc, ...data } as never, time }, clock.now()) as CloudEvent;
    const track = (time: string, event: string) => f('cs.product.track.v1', time, { kind: 'track', messageId: randomUUID(), userId: 'u1', event, properties: {}, timestamp: time, receivedAt: time });
    await send([
      f('cs.directory.account.updated.v1', midnight('2026-02-01'), { messageId: 'g1', traits: { arr: 20_000, contractStart: midnight('2026-02-01') }, rawTraits: {}, timestamp: midnight('2026-02-01') }),
      f('cs.directory.user.identified.v1', at('2026-02-01'), { messageId: 'i1', userId: 'admin-a', traits: { role: 'admin' }, timestamp: at('2026-02-01') }),
      track(at('2026-02-02'), 'Workspace Created'),
      track(at('2026-02-03'), 'Teammate Invited'),
      track(at('2026-02-04'), 'First Report Shared'),
      f('cs.directory.user.identified.v1', at('2026-02-20'), { messageId: 'i2', userId: 'admin-b', traits: { role: 'Owner' }, timestamp: at('2026-02-20') }),
      track(at('2026-02-21'), 'Workspace Created'),
    ]);
    await waitFor('the admin change', async () => ((await inboxCount([acc])) === 7 ? true : undefined));
    const history = (await api('GET', `/v1/accounts/${acc}`)).json['phase']['history'] as Json[];
    expect(history.map((h) => [h['to'], h['at']])).toEqual([
      ['onboarding', midnight('2026-02-01')],
      ['adoption', at('2026-02-04')],
      ['onboarding', at('2026-02-20')],
    ]);
    expect(history[2]?.['cause']).toMatch(/^reset: .*admin-changed/);
    // The new admin finishes onboarding again; then a new workspace restarts it.
    await send([track(at('2026-02-22'), 'Teammate Invited'), track(at('2026-02-23'), 'First Report Shared'), track(at('2026-02-25'), 'New Workspace Created')]);
    await waitFor('the new workspace', async () => ((await inboxCount([acc])) === 10 ? true : undefined));
    const after = (await api('GET', `/v1/accounts/${acc}`)).json['phase'];
    expect(after['history'].map((h: Json) => h['to']).slice(-2)).toEqual(['adoption', 'onboarding']);
    expect(after['cause']).toMatch(/new-workspace/);
  });

  it('keeps the rules as validated, versioned data', async () => {
    const current = await api('GET', '/v1/lifecycle-rules');
    expect(current.status).toBe(200);
    expect(current.json['rules']).toEqual(DEFAULT_LIFECYCLE_RULES);
    const bad = await api('PUT', '/v1/lifecycle-rules', { ...DEFAULT_LIFECYCLE_RULES, renewal: { windowDays: 0, graceDays: 30 }, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json['errors']).toEqual(expect.arrayContaining(['renewal.windowDays: must be an integer >= 1, got 0', 'extra: unknown property']));
    const saved = await api('PUT', '/v1/lifecycle-rules', { ...DEFAULT_LIFECYCLE_RULES, renewal: { windowDays: 60, graceDays: 30 } });
    expect(saved.status).toBe(200);
    expect(saved.json['version']).toBe(current.json['version'] + 1);
    expect((await api('GET', '/v1/lifecycle-rules')).json['rules']['renewal']['windowDays']).toBe(60);
    expect((await api('GET', `/v1/lifecycle-rules?version=${current.json['version']}`)).json['rules']['renewal']['windowDays']).toBe(90);
    expect((await api('GET', '/v1/lifecycle-rules?version=9999')).status).toBe(404);
    // Back to the defaults, as a new version.
    expect((await api('PUT', '/v1/lifecycle-rules', DEFAULT_LIFECYCLE_RULES)).json['version']).toBe(current.json['version'] + 2);
  });

  it('documents exactly its routes in docs/api/lifecycle.openapi.yaml, served at /docs', async () => {
    expect([...documentedRoutes(spec)].sort()).toEqual([...routes].sort());
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
  });
});
