import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import {
  ALL_TOPICS, EscalationReason, EscalationState, HealthBand, ManualClock, Topics, createEvent, topicOf, type CloudEvent, type EventType, type PayloadOf,
} from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { documentedRoutes, recordRoutes, startConsumerGroupAtEnd, testKafka, testToken, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { AccountHealth, healthScoringData, fromStoredFeatures, loadAccountFacts, toStoredFeatures } from '@kizuna/health-scoring/data-access';
import { contractSize, deriveFeatures, scoreAccount, scorecardForSegment, topMovers, type AccountFeatures } from '@kizuna/health-scoring/domain';
import { HealthScoringModule } from './health-scoring.module';
import { BackfillService } from './backfill.service';
import { HealthConfig } from './health.config';
import { HealthSweeper } from './health-sweeper.service';
import { ScorecardStore } from './scorecard-store.service';

type HealthEvent = CloudEvent<'cs.health.score.changed.v1'>;

/** health-scoring in-process against the real broker and Postgres, with a manual clock. */
describe('health-scoring service', () => {
  const clock = new ManualClock('2026-03-10T12:00:00Z');
  const kafka = testKafka();
  let app: NestFastifyApplication;
  let producer: Producer;
  let health: TopicRecorder;
  const accountIds = new Set<string>();
  let seq = 0;
  let routes = new Set<string>();
  const spec = openApiDocument('health-scoring.openapi.yaml');
  const groupPrefix = `it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: groupPrefix, KAFKA_RETRY_BACKOFF_MS: '10', OUTBOX_RETAIN_MS: '3600000' });
    // Only what comes after the start: other suites leave accounts on the shared broker (some scored
    // with 'trial', which the backfill tests count as theirs alone).
    await startConsumerGroupAtEnd(kafka, `${groupPrefix}.health-scoring`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'health-scoring', defaultPort: 0, data: healthScoringData, feature: HealthScoringModule }, config, logger, clock);
    app = await createServiceApp({ name: 'health-scoring', module: root, config, logger, defaultPort: 0, openApi: spec });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    producer = kafka.producer();
    await producer.connect();
    health = await new TopicRecorder(kafka, [Topics.health], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await health?.stop();
    await producer?.disconnect();
    await app?.close();
  });

  const account = () => {
    const id = `acc-${randomUUID()}`;
    accountIds.add(id);
    return id;
  };
  function event<T extends EventType>(type: T, accountId: string, data: PayloadOf<T>): CloudEvent<T> {
    return createEvent('kizuna/ingestion', { type, subject: accountId, data }, clock.now());
  }
  const track = (accountId: string, user: string, name = 'Report Shared', at = clock.now()) =>
    event('cs.product.track.v1', accountId, {
      kind: 'track', sourceId: 'test', messageId: `m-${++seq}`, accountId, userId: user, event: name, properties: {},
      timestamp: at.toISOString(), receivedAt: at.toISOString(),
    });
  const send = (events: CloudEvent[]) =>
    producer.send({ topic: events[0] ? topicOf(events[0].type as EventType) : Topics.product, messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });
  const changes = (accountId: string) => health.messages.filter((m) => m.key === accountId).map((m) => JSON.parse(m.value ?? '{}') as HealthEvent);
  const stored = (accountId: string) => app.get(DataSource).getRepository(AccountHealth).findOneBy({ accountId });
  const api = async (method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown) => {
    const authorization = `Bearer ${await testToken({ roles: ['admin'] })}`;
    const r = await app.inject({ method, url, headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    return { status: r.statusCode, json: JSON.parse(r.body) };
  };

  it('scores an account from its first product events, emits the change and explains every point', async () => {
    const acc = account();
    await send([track(acc, 'u1'), track(acc, 'u2', 'Dashboard Viewed')]);
    const [first] = await waitFor('a health change', () => (changes(acc).length ? changes(acc) : undefined));
    expect(first?.data).toMatchObject({ previousScore: null, previousBand: null, scorecardId: 'smb', scorecardVersion: 1 });
    expect(first?.data.topMovers.length).toBeGreaterThan(0);
    const view = await waitFor('the explanation', async () => {
      const r = await api('GET', `/v1/accounts/${acc}/health`);
      return r.status === 200 && (await stored(acc))?.lastEventId ? r.json : undefined;
    });
    const explanation = view.explanation as { components: { key: string; contribution: number; measures: { status: string; raw: number | null }[] }[]; modifiers: { contribution: number }[]; clampAdjustment: number; score: number };
    const total = explanation.components.reduce((s, c) => s + c.contribution, 0) + explanation.modifiers.reduce((s, c) => s + c.contribution, 0) + explanation.clampAdjustment;
    expect(total).toBeCloseTo(explanation.score, 0);
    // no seats known yet: seat utilisation is reported as no data, not scored as 0
    const deployment = explanation.components.find((c) => c.key === 'deployment') as unknown as { measures: { key: string; status: string }[] };
    expect(deployment.measures.find((m) => m.key === 'seat_utilisation')?.status).toBe('no-data');
    expect((await api('GET', '/v1/accounts/nobody/health')).status).toBe(404);
  });

  it('documents exactly its routes in docs/api/health-scoring.openapi.yaml, served at /docs', async () => {
    expect([...documentedRoutes(spec)].sort()).toEqual([...routes].sort());
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
    const scrape = await app.inject({ method: 'GET', url: '/metrics' });
    expect(scrape.statusCode).toBe(200);
    expect(scrape.headers['content-type']).toContain('text/plain');
    expect(scrape.body).toContain('kizuna_consumer_lag');
  });

  it('is order-tolerant and idempotent: the same events reordered and duplicated give the same score', async () => {
    const a = account();
    const b = account();
    const build = (acc: string) => {
      const at = (d: number) => new Date(clock.now().getTime() - d * 86_400_000);
      return [
        event('cs.directory.account.updated.v1', acc, { sourceId: 'test', messageId: `g-${acc}`, accountId: acc, traits: { arr: 30000, seatsPurchased: 8 }, rawTraits: {}, timestamp: at(9).toISOString() }),
        ...[9, 6, 3, 1, 0].flatMap((d) => ['u1', 'u2', 'u3'].map((u) => track(acc, u, d % 2 ? 'Report Shared' : 'Dashboard Viewed', at(d)))),
        event('cs.survey.answered.v1', acc, { sourceId: 'test', responseId: `nps-${acc}`, accountId: acc, kind: 'nps', score: 6, answeredAt: at(2).toISOString() }),
        event('cs.support.ticket.updated.v1', acc, {
          sourceId: 'test', ticketId: `t-${acc}`, accountId: acc, channel: 'web' as never, tags: [], priority: 'normal', status: 'open',
          reopenedCount: 1, needsCs: false, createdAt: at(4).toISOString(), updatedAt: at(4).toISOString(),
        }),
      ];
    };
    const inOrder = build(a);
    const shuffled = build(b).reverse();
    for (const e of inOrder) await send([e]);
    for (const e of [...shuffled, ...shuffled.slice(0, 5)]) await send([e]);
    await appliedCount(a, inOrder.length);
    await appliedCount(b, shuffled.length);
    const [ha, hb] = [await stored(a), await stored(b)];
    expect(hb?.score).toBe(ha?.score);
    expect(hb?.band).toBe(ha?.band);
    expect(hb?.features).toEqual(ha?.features);
    const strip = async (acc: string) => JSON.stringify((await api('GET', `/v1/accounts/${acc}/health`)).json.explanation).replace(/"computedAt":"[^"]+"/g, '');
    expect(await strip(b)).toBe(await strip(a));
  });

  it('counts a redelivered event once', async () => {
    const acc = account();
    const e = track(acc, 'u1');
    await send([e, e, e]);
    const marker = track(acc, 'u2');
    await send([marker]);
    await waitFor('the marker event applied', async () => (await stored(acc))?.lastEventId === marker.id);
    const rows = await app.get(DataSource).query('SELECT sum(events)::int AS n FROM health_scoring.account_daily_activity WHERE account_id = $1', [acc]);
    expect(rows[0].n).toBe(2);
  });

  /** Waits until the service applied `n` events of the account (its own consumer's inbox rows), whatever their topics. */
  const appliedCount = (acc: string, n: number) =>
    waitFor(`${n} events applied`, async () => {
      const [r] = await app.get(DataSource).query('SELECT count(*)::int AS n FROM health_scoring.inbox WHERE account_id = $1 AND consumer = $2', [acc, `${groupPrefix}.health-scoring`]);
      return r.n >= n ? true : undefined;
    }, { timeoutMs: 30000 });

  /** A healthy enterprise account: seats in use, key features and milestones, a promoter. */
  async function healthyAccount(acc: string): Promise<number> {
    const start = clock.now();
    await send([event('cs.directory.account.updated.v1', acc, { sourceId: 'test', messageId: `g-${acc}`, accountId: acc, traits: { name: 'Acme', arr: 250000, seatsPurchased: 5, plan: 'enterprise' }, rawTraits: {}, timestamp: start.toISOString() })]);
    const activity: CloudEvent[] = [];
    for (const d of [-20, -14, -7, -3, -1, 0]) {
      for (const u of ['u1', 'u2', 'u3', 'u4']) {
        for (const f of ['Report Created', 'Report Shared', 'Dashboard Viewed', 'Integration Connected', 'Teammate Invited', 'First Report Shared', 'Goal Reached']) {
          activity.push(track(acc, u, f, new Date(start.getTime() + d * 86_400_000)));
        }
      }
    }
    await send(activity);
    const promoter = event('cs.survey.answered.v1', acc, { sourceId: 'test', responseId: `r-${acc}`, accountId: acc, kind: 'nps', score: 10, answeredAt: new Date(start.getTime() - 86_400_000).toISOString() });
    await send([promoter]);
    await appliedCount(acc, activity.length + 2);
    expect((await stored(acc))?.band).toBe(HealthBand.Good);
    return activity.length + 2;
  }

  it('decays an account that goes quiet: good -> caution -> danger with no new event', async () => {
    const acc = account();
    const start = clock.now();
    await healthyAccount(acc);
    expect((await stored(acc))?.segment).toBe('enterprise');
    const sweeper = app.get(HealthSweeper);
    clock.advance(12 * 86_400_000);
    await sweeper.sweepOnce();
    expect((await stored(acc))?.band).toBe(HealthBand.Caution);
    clock.advance(25 * 86_400_000);
    await sweeper.sweepOnce();
    expect((await stored(acc))?.band).toBe(HealthBand.Danger);
    const bands = await waitFor('the band changes on cs.health.v1', () => {
      const b = changes(acc).map((c) => c.data.band);
      return b.at(-1) === HealthBand.Danger ? b : undefined;
    });
    const afterGood = bands.slice(bands.lastIndexOf(HealthBand.Good));
    expect(afterGood).toEqual([HealthBand.Good, HealthBand.Caution, HealthBand.Danger]);

    // explanation with trends, the daily series with every change, and the list by band
    const view = await api('GET', `/v1/accounts/${acc}/health`);
    expect(view.json.band).toBe(HealthBand.Danger);
    expect(view.json.trend.d30).toBeLessThan(0);
    const day = (d: number) => new Date(start.getTime() + d * 86_400_000).toISOString().slice(0, 10);
    const history = await api('GET', `/v1/accounts/${acc}/health/history?from=${day(0)}&to=${day(37)}`);
    expect(history.json.daily).toHaveLength(38);
    expect(history.json.daily[0].band).toBe(HealthBand.Good);
    expect(history.json.daily[20].band).toBe(HealthBand.Caution);
    expect(history.json.daily[37].band).toBe(HealthBand.Danger);
    expect(history.json.changes.map((c: { band: string }) => c.band).slice(-2)).toEqual([HealthBand.Caution, HealthBand.Danger]);
    expect((await api('GET', `/v1/accounts/${acc}/health/history?from=${day(5)}&to=${day(1)}`)).status).toBe(400);
    const danger = await api('GET', '/v1/health?band=danger&segment=enterprise&sort=score&limit=500');
    expect(danger.json.items.some((i: { accountId: string }) => i.accountId === acc)).toBe(true);
    expect((await api('GET', '/v1/health?band=purple')).status).toBe(400);
    clock.set(start);
  });

  it('a detractor NPS and reopened tickets pull the score down and are named as the movers', async () => {
    const acc = account();
    const sent = await healthyAccount(acc);
    const before = (await stored(acc))?.score ?? 0;
    const seen = await waitFor('the good score on cs.health.v1', () => {
      const c = changes(acc);
      return c.at(-1)?.data.band === HealthBand.Good ? c.length : undefined;
    });
    await send([event('cs.survey.answered.v1', acc, { sourceId: 'test', responseId: `d-${acc}`, accountId: acc, kind: 'nps', score: 2, comment: 'outage', answeredAt: clock.now().toISOString() })]);
    const tickets = [1, 2, 3, 4].map((i) =>
      event('cs.support.ticket.updated.v1', acc, {
        sourceId: 'test', ticketId: `t-${acc}-${i}`, accountId: acc, channel: 'email' as never, tags: [], priority: 'high', status: 'open',
        reopenedCount: 2, satisfaction: 1, needsCs: false, createdAt: clock.now().toISOString(), updatedAt: clock.now().toISOString(),
      }),
    );
    await send(tickets);
    await appliedCount(acc, sent + 1 + tickets.length);
    expect((await stored(acc))?.score).toBeLessThan(before);
    const movers = await waitFor('the NPS and reopen movers on cs.health.v1', () => {
      const all = changes(acc).slice(seen).flatMap((c) => c.data.topMovers.map((m) => `${m.component}/${m.measure}`));
      return all.includes('roi/nps') && all.includes('support/reopen_rate') ? all : undefined;
    });
    expect(movers).toEqual(expect.arrayContaining(['roi/nps', 'support/reopen_rate']));
    expect(changes(acc).at(-1)?.data.score).toBeLessThan(before);
  });

  it('open risk escalations cost health and are explained, resolving gives it back (newest change wins), expansion ones cost nothing; lifecycle picks the scorecard', async () => {
    const acc = account();
    let n = await healthyAccount(acc);
    const before = (await stored(acc))?.score ?? 0;
    const at = (s: number) => new Date(clock.now().getTime() + s * 1000).toISOString();
    const escalation = (type: 'cs.escalation.opened.v1' | 'cs.escalation.assigned.v1' | 'cs.escalation.resolved.v1', id: string, reason: EscalationReason, state: EscalationState, changedAt: string) =>
      event(type, acc, { escalationId: `${id}-${acc}`, reason, state, priority: 'normal', evidence: [], context: {}, changedAt });
    const penalty = async () => {
      const e = (await api('GET', `/v1/accounts/${acc}/health`)).json.explanation as { modifiers: { measures: { key: string; contribution: number }[] }[] };
      return e.modifiers.flatMap((m) => m.measures).find((m) => m.key === 'open_escalations')?.contribution;
    };

    await send([escalation('cs.escalation.opened.v1', 'x', EscalationReason.ExpansionSignal, EscalationState.Open, at(1))]);
    await appliedCount(acc, (n += 1));
    expect((await stored(acc))?.score).toBe(before);

    await send([escalation('cs.escalation.opened.v1', 'r', EscalationReason.RepeatInquiries, EscalationState.Open, at(1))]);
    await appliedCount(acc, (n += 1));
    expect((await stored(acc))?.score).toBeLessThan(before);
    expect(await penalty()).toBeLessThan(0);

    // Resolved, then a stale "assigned" arrives late: the escalation stays resolved.
    await send([
      escalation('cs.escalation.resolved.v1', 'r', EscalationReason.RepeatInquiries, EscalationState.Resolved, at(3)),
      escalation('cs.escalation.assigned.v1', 'r', EscalationReason.RepeatInquiries, EscalationState.Assigned, at(2)),
    ]);
    await appliedCount(acc, (n += 2));
    expect((await stored(acc))?.score).toBe(before);
    expect(await penalty()).toBe(0);

    // The healthy account is enterprise by its ARR; lifecycle's contract-size segment overrides it.
    expect((await stored(acc))?.scorecardId).toBe('enterprise');
    await send([event('cs.lifecycle.segment.changed.v1', acc, { dimension: 'usage-status', from: null, to: 'active', cause: 'test', changedAt: at(4) })]);
    await send([event('cs.lifecycle.segment.changed.v1', acc, { dimension: 'contract-size', from: 'enterprise', to: 'smb', cause: 'test', changedAt: at(4) })]);
    await appliedCount(acc, (n += 2));
    expect((await stored(acc))?.scorecardId).toBe('smb');
    expect((await stored(acc))?.segment).toBe('smb');
  });

  it('a weight changed through the API applies to the next score; backfill dry-run reports the shift, backfill applies it', async () => {
    const existing = account();
    await send([track(existing, 'u1')]);
    await appliedCount(existing, 1);
    const sc = (await api('GET', '/v1/scorecards/smb')).json as { version: number; components: { key: string; weight: number }[] };
    expect((await stored(existing))?.scorecardVersion).toBe(sc.version);
    const edited = { ...sc, components: sc.components.map((c) => (c.key === 'engagement' ? { ...c, weight: c.weight * 4 } : c)) };
    const saved = await api('PUT', '/v1/scorecards/smb', edited);
    expect(saved.status).toBe(200);
    expect(saved.json.version).toBe(sc.version + 1);
    expect((await api('PUT', '/v1/scorecards/smb', { ...edited, bands: { good: 10, caution: 50 } })).json.errors[0]).toMatch(/bands/);

    const acc = account();
    await send([track(acc, 'u1')]);
    await waitFor('a score under the new version', async () => ((await stored(acc))?.scorecardVersion === sc.version + 1 ? true : undefined), { timeoutMs: 15000 });

    const backfills = app.get(BackfillService);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const dry = await api('POST', '/v1/scorecards/smb/backfill', { dryRun: true });
    expect(dry.status).toBe(202);
    const dryDone = await backfills.finished(dry.json.id);
    expect(dryDone).toMatchObject({ status: 'done', dryRun: true, scorecard: { id: 'smb', version: sc.version + 1 } });
    expect(dryDone.processed).toBe(dryDone.total);
    expect(sum(dryDone.before)).toBe(dryDone.total);
    expect(sum(dryDone.after)).toBeGreaterThan(0);
    expect((await stored(existing))?.scorecardVersion).toBe(sc.version); // a dry run writes nothing

    const real = await api('POST', '/v1/scorecards/smb/backfill', {});
    const realDone = await backfills.finished(real.json.id);
    expect(realDone).toMatchObject({ status: 'done', dryRun: false });
    expect((await stored(existing))?.scorecardVersion).toBe(sc.version + 1);
    expect((await api('GET', `/v1/backfills/${real.json.id}`)).json.status).toBe('done');
    expect((await api('POST', '/v1/scorecards/nope/backfill', {})).status).toBe(404);
  });

  it('a backfill scores every account exactly as the streaming scorer would: features, segment, scorecard, score, band, changes with their movers, outbox events', async () => {
    const ds = app.get(DataSource);
    const now = clock.now();
    let seed = 20260310;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000 - Math.floor(r() * 3_600_000));
    const day = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10);
    const run = randomUUID().slice(0, 8);
    const ids = Array.from({ length: 160 }, (_, i) => `bfx-${run}-${String(i).padStart(3, '0')}`);
    ids.forEach((id) => accountIds.add(id));
    const { scorecards, settings } = await app.get(ScorecardStore).current();
    const trial = await app.get(ScorecardStore).get('trial');

    // Facts of every kind, over and across the windows' edges; every 10th account has none at all.
    const rows: Record<string, Record<string, unknown>[]> = { profile: [], segment: [], userDay: [], activity: [], eventUse: [], survey: [], support: [], billing: [], escalation: [], health: [] };
    const events = [...new Set([...settings.keyFeatures, ...settings.valueMilestones, 'Other Thing'])];
    ids.forEach((id, i) => {
      const quiet = i % 10 === 0;
      if (!quiet && r() < 0.9) {
        rows['profile']?.push({ account_id: id, updated_at: now, plan: pick([null, 'trial', 'Free tier', 'pro', 'FREE', 'enterprise', 'Trial']), arr: pick([null, 0, 5000, 99999.5, 100000, 250000]), seats_purchased: pick([null, 0, 1, 5, 20]) });
      }
      if (!quiet && r() < 0.3) rows['segment']?.push({ account_id: id, contract_size: pick(['enterprise', 'smb', 'freemium', 'mid-market']) });
      const young = !quiet && r() < 0.15;
      const maxDay = young ? 6 : 40;
      const days = quiet || r() < 0.1 ? [] : [...new Set(Array.from({ length: 1 + Math.floor(r() * 10) }, () => Math.floor(r() * (maxDay + 1))))];
      for (const d of days) {
        rows['activity']?.push({ account_id: id, day: day(d), events: 1 + Math.floor(r() * 50) });
        for (const u of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) if (r() < 0.4) rows['userDay']?.push({ account_id: id, day: day(d), user_key: u });
      }
      if (!quiet) {
        for (const e of events) {
          if (r() < 0.4) {
            const first = Math.floor(r() * 60);
            rows['eventUse']?.push({ account_id: id, event: e, first_used_at: daysAgo(first), last_used_at: daysAgo(Math.floor(r() * (first + 1))) });
          }
        }
        let answer = 0;
        for (let k = 0; k < Math.floor(r() * 4); k++) {
          rows['survey']?.push({ response_id: `${id}-s${k}`, account_id: id, kind: pick(['nps', 'csat']), score: Math.floor(r() * 11), answered_at: daysAgo((answer += 1 + Math.floor(r() * 40))) });
        }
        for (let k = 0; k < Math.floor(r() * 5); k++) {
          rows['support']?.push({ kind: pick(['ticket', 'call']), ref: `${id}-t${k}`, account_id: id, opened_at: daysAgo(Math.floor(r() * 100)), reopened_count: pick([0, 0, 1, 2]), negative: r() < 0.3, updated_at: now });
        }
        for (let k = 0; k < Math.floor(r() * 3); k++) {
          rows['billing']?.push({ change_id: `${id}-b${k}`, account_id: id, change: pick(['payment-failed', 'downgraded', 'upgraded']), effective_at: daysAgo(Math.floor(r() * 120)) });
        }
        for (let k = 0; k < Math.floor(r() * 3); k++) {
          rows['escalation']?.push({ escalation_id: `${id}-e${k}`, account_id: id, reason: pick(['repeat-inquiries', 'expansion-signal', 'negative-sentiment']), state: pick(['open', 'assigned', 'acknowledged', 'resolved']), changed_at: now });
        }
      }
      // The current score: trial v1, from earlier features (some none), last emitted score and band (some never).
      const previousFeatures: AccountFeatures = r() < 0.2 ? {} : { seat_utilisation: r(), active_users_7d: Math.floor(r() * 6), sessions_7d: Math.floor(r() * 20), days_since_last_activity: Math.floor(r() * 30), key_features_used_30d: r(), value_milestones: Math.floor(r() * 4), nps_latest: Math.floor(r() * 11), engagement_trend: r() * 2 };
      const emitted = r() < 0.8;
      const score = Math.floor(r() * 10000) / 100;
      rows['health']?.push({
        account_id: id, score, band: score >= 70 ? 'good' : score >= 40 ? 'caution' : 'danger', scorecard_id: 'trial', scorecard_version: trial.version,
        computed_at: daysAgo(1), last_event_id: 'seed', segment: null, features: toStoredFeatures(previousFeatures),
        emitted_score: emitted ? (r() < 0.5 ? score : Math.floor(r() * 10000) / 100) : null, emitted_band: emitted ? pick(['good', 'caution', 'danger']) : null,
      });
    });
    const insert = async (table: string, key: string, columns: string) => {
      await ds.query(`INSERT INTO health_scoring.${table} SELECT * FROM jsonb_populate_recordset(NULL::health_scoring.${table}, $1::jsonb) ${columns}`, [JSON.stringify(rows[key])]);
    };
    await insert('account_profile', 'profile', '');
    await ds.query(`INSERT INTO health_scoring.account_segment (account_id, contract_size, changed_at) SELECT x.account_id, x.contract_size, now() FROM jsonb_to_recordset($1::jsonb) AS x(account_id text, contract_size text)`, [JSON.stringify(rows['segment'])]);
    await insert('account_daily_activity', 'activity', '');
    await insert('account_user_day', 'userDay', '');
    await insert('account_event_use', 'eventUse', '');
    await insert('survey_fact', 'survey', '');
    await insert('support_fact', 'support', '');
    await insert('billing_fact', 'billing', '');
    await ds.query(`INSERT INTO health_scoring.escalation_fact (escalation_id, account_id, reason, state, changed_at) SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(escalation_id text, account_id text, reason text, state text, changed_at timestamptz)`, [JSON.stringify(rows['escalation'])]);
    await insert('account_health', 'health', '');

    // The reference: what HealthScorer computes for each account, from the same facts at the same instant.
    const config = loadConfig(HealthConfig);
    const facts = await loadAccountFacts(ds.manager, ids, now, settings);
    const before = new Map((rows['health'] ?? []).map((h) => [h['account_id'] as string, h]));
    const expected = await Promise.all(ids.map(async (id) => {
      const f = facts.get(id);
      const prev = before.get(id) as { score: number; band: string; features: (number | null)[]; emitted_score: number | null; emitted_band: string | null };
      if (!f?.facts.anyActivity) return { id, scored: false as const, band: prev.band };
      const decided = f.profile.segment && ['enterprise', 'smb', 'freemium'].includes(f.profile.segment) ? f.profile.segment : undefined;
      const segment = decided ?? contractSize(f.profile, { enterpriseArr: config.HEALTH_ENTERPRISE_ARR }) ?? null;
      const features = deriveFeatures(f.facts, now);
      const health = scoreAccount(features, scorecardForSegment(scorecards, segment ?? undefined), now);
      if (health.score === null || health.band === null) return { id, scored: false as const, band: prev.band };
      const last = prev.emitted_band ? { score: Number(prev.emitted_score), band: prev.emitted_band } : undefined;
      const changed = !last || last.band !== health.band || Math.abs(last.score - health.score) >= config.HEALTH_MIN_DELTA;
      const movers = topMovers(scoreAccount(fromStoredFeatures(prev.features), trial, now), health);
      return { id, scored: true as const, segment, features, health, changed, last, movers };
    }));
    const scoredCount = expected.filter((e) => e.scored).length;
    expect(scoredCount).toBeGreaterThan(100);
    expect(expected.filter((e) => e.scored && e.changed).length).toBeGreaterThan(50);
    expect(new Set(expected.map((e) => (e.scored ? e.health.scorecardId : 'none')))).toEqual(new Set(['trial', 'smb', 'enterprise', 'none']));

    const backfills = app.get(BackfillService);
    const dry = await backfills.finished((await api('POST', '/v1/scorecards/trial/backfill', { dryRun: true })).json.id);
    const real = await backfills.finished((await api('POST', '/v1/scorecards/trial/backfill', {})).json.id);
    expect(real.status).toBe('done');
    const tally = (bands: string[]) => bands.reduce<Record<string, number>>((t, b) => ({ ...t, [b]: (t[b] ?? 0) + 1 }), {});
    // Only this test's accounts are scored with 'trial'.
    expect(real.after).toEqual(tally(expected.map((e) => (e.scored ? e.health.band : e.band) as string)));
    expect(dry.after).toEqual(real.after);
    expect(dry.before).toEqual(real.before);

    const stored: { account_id: string; score: number; band: string; scorecard_id: string; scorecard_version: number; segment: string | null; features: (number | null)[]; emitted_score: string | null; emitted_band: string | null; last_event_id: string }[] =
      await ds.query(`SELECT account_id, score::float8 AS score, band, scorecard_id, scorecard_version, segment, features, emitted_score, emitted_band, last_event_id FROM health_scoring.account_health WHERE account_id = ANY($1) ORDER BY account_id`, [ids]);
    const changeRows: { account_id: string; event_id: string; score: number; band: string; previous_score: number | null; previous_band: string | null; scorecard_id: string; scorecard_version: number; movers: unknown }[] =
      await ds.query(`SELECT account_id, event_id, score::float8 AS score, band, previous_score::float8 AS previous_score, previous_band, scorecard_id, scorecard_version, movers FROM health_scoring.health_change WHERE account_id = ANY($1)`, [ids]);
    // The outbox relay publishes them (one outbox row per range stands for its changes).
    const emittedChanges = changeRows.filter((c) => expected.some((e) => e.id === c.account_id));
    await waitFor('every backfill change on cs.health.v1', () =>
      emittedChanges.every((c) => changes(c.account_id).some((m) => m.id === c.event_id)) ? true : undefined,
    );
    const byKey = (m: { component: string; measure: string; deltaPoints: number }) => ({ component: m.component, measure: m.measure, deltaPoints: m.deltaPoints });
    for (const e of expected) {
      const row = stored.find((s) => s.account_id === e.id);
      const change = changeRows.find((c) => c.account_id === e.id);
      if (!e.scored) {
        expect({ id: e.id, lastEventId: row?.last_event_id, change }).toEqual({ id: e.id, lastEventId: 'seed', change: undefined });
        continue;
      }
      expect({ id: e.id, score: row?.score, band: row?.band, scorecard: [row?.scorecard_id, row?.scorecard_version], segment: row?.segment, features: row?.features }).toEqual({
        id: e.id, score: e.health.score, band: e.health.band, scorecard: [e.health.scorecardId, e.health.scorecardVersion], segment: e.segment, features: toStoredFeatures(e.features),
      });
      const emitted = e.changed ? { score: e.health.score, band: e.health.band } : e.last;
      expect({ id: e.id, emitted: [row?.emitted_score === null ? null : Number(row?.emitted_score), row?.emitted_band] }).toEqual({ id: e.id, emitted: [emitted?.score ?? null, emitted?.band ?? null] });
      if (!e.changed) {
        expect({ id: e.id, change }).toEqual({ id: e.id, change: undefined });
        continue;
      }
      expect({ id: e.id, ...change, event_id: undefined, movers: (change?.movers as Parameters<typeof byKey>[0][]).map(byKey) }).toEqual({
        id: e.id, account_id: e.id, event_id: undefined, score: e.health.score, band: e.health.band, previous_score: e.last?.score ?? null, previous_band: e.last?.band ?? null,
        scorecard_id: e.health.scorecardId, scorecard_version: e.health.scorecardVersion, movers: e.movers,
      });
      const event = changes(e.id).find((m) => m.id === change?.event_id);
      expect({ ...event, time: undefined, data: { ...event?.data, topMovers: event?.data.topMovers.map(byKey) } }).toEqual({
        specversion: '1.0', id: change?.event_id, source: 'kizuna/health-scoring', type: 'cs.health.score.changed.v1', subject: e.id, time: undefined, datacontenttype: 'application/json',
        data: {
          score: e.health.score, band: e.health.band, previousScore: e.last?.score ?? null, previousBand: e.last?.band ?? null, scorecardId: e.health.scorecardId,
          scorecardVersion: e.health.scorecardVersion, topMovers: e.movers, computedAt: now.toISOString(),
        },
      });
      expect(event?.time).toBe(now.toISOString());
      // Once each.
      expect({ id: e.id, sent: changes(e.id).filter((m) => m.id === change?.event_id).length }).toEqual({ id: e.id, sent: 1 });
    }
    // Through outbox rows standing for the ranges' changes (kept, marked published: this suite retains them).
    const markers: { published: boolean; type: string }[] = await ds.query(
      `SELECT published_at IS NOT NULL AS published, envelope->>'type' AS type FROM health_scoring.outbox
        WHERE event_id IN (SELECT outbox_batch::text FROM health_scoring.health_change WHERE account_id = ANY($1))`,
      [ids],
    );
    expect(markers.length).toBeGreaterThan(0);
    expect(markers.every((r) => r.published && r.type === 'kizuna.outbox.expand')).toBe(true);
  });

  it('a backfill a restart interrupted resumes after the last range it recorded', async () => {
    const ds = app.get(DataSource);
    const run = randomUUID().slice(0, 8);
    // 'bfz-' sorts after the other tests' accounts scored with 'trial': the job's cursor decides alone.
    const ids = Array.from({ length: 30 }, (_, i) => `bfz-${run}-${String(i).padStart(2, '0')}`);
    const trial = await app.get(ScorecardStore).get('trial');
    await ds.query(
      `INSERT INTO health_scoring.account_health (account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, features)
       SELECT a, 50, 'caution', 'trial', $2, $3, 'seed', NULL, '{}' FROM unnest($1::text[]) a`,
      [ids, trial.version, clock.now()],
    );
    await ds.query(`INSERT INTO health_scoring.account_daily_activity (account_id, day, events) SELECT a, $2::date, 5 FROM unnest($1::text[]) a`, [ids, clock.now().toISOString().slice(0, 10)]);
    // As a service stopped after recording the range up to the 15th account leaves it.
    const id = `bf_${randomUUID()}`;
    await ds.query(
      `INSERT INTO health_scoring.backfill_job (id, scorecard_id, scorecard_version, dry_run, status, total, processed, cursor, before, after, started_at)
       VALUES ($1, 'trial', $2, false, 'running', 30, 15, $3, '{"caution": 15}', '{"good": 15}', $4)`,
      [id, trial.version, ids[14], clock.now()],
    );
    const backfills = app.get(BackfillService);
    await backfills.onApplicationBootstrap();
    const job = await backfills.finished(id);
    expect(job).toMatchObject({ status: 'done', processed: 30, total: 30 });
    expect(Object.values(job.before).reduce((a, b) => a + b, 0)).toBe(30);
    const rows: { account_id: string; last_event_id: string }[] = await ds.query(
      `SELECT account_id, last_event_id FROM health_scoring.account_health WHERE account_id = ANY($1) ORDER BY account_id`,
      [ids],
    );
    expect(rows.map((r) => r.last_event_id)).toEqual(ids.map((_, i) => (i < 15 ? 'seed' : `backfill:${id}`)));
  });
});
