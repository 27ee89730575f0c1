import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import {
  EscalationReason, EscalationState, HealthBand, ManualClock, Topics, createEvent, type CloudEvent, type EventType, type PayloadOf,
} from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { documentedRoutes, recordRoutes, testKafka, testToken, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { AccountHealth, healthScoringData } from '@kizuna/health-scoring/data-access';
import { HealthScoringModule } from './health-scoring.module';
import { BackfillService } from './backfill.service';
import { HealthSweeper } from './health-sweeper.service';

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

  beforeAll(async () => {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-${randomUUID().slice(0, 8)}`, KAFKA_RETRY_BACKOFF_MS: '10' });
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
    producer.send({ topic: events[0] ? `cs.${events[0].type.split('.')[1]}.v1` : Topics.product, messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });
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

  /** Waits until the service applied `n` events of the account (its inbox), whatever their topics. */
  const appliedCount = (acc: string, n: number) =>
    waitFor(`${n} events applied`, async () => {
      const [r] = await app.get(DataSource).query('SELECT count(*)::int AS n FROM health_scoring.inbox WHERE account_id = $1', [acc]);
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
});
