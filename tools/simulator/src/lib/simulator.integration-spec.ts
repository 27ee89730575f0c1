import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { TopicRecorder, repoRoot, testKafka, waitFor } from '@kizuna/shared/testing';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule, ingestionHttpOptions } from '@kizuna/ingestion/feature';
import { createSource, driveStream, setWebhookSecret, type DriveProgress } from './driver';
import { simulate } from './simulation';

const ADMIN = 'integration-admin-token-simulator-01';

type Envelope = { type: string; subject?: string; data: Record<string, unknown> };

/** Ingestion as main.ts builds it (as the ingestion specs' helper does), listening on a real port. */
async function startIngestion(): Promise<{ app: NestFastifyApplication; url: string }> {
  Object.assign(process.env, { INGESTION_ADMIN_TOKEN: ADMIN, INGESTION_KEY_CACHE_TTL_MS: '0', INGESTION_SECRET_KEY: randomBytes(32).toString('base64') });
  const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_TOPIC_PARTITIONS: '3' });
  const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
  const root = serviceRootModule({ name: 'ingestion', defaultPort: 0, data: ingestionData, feature: IngestionModule }, config, logger);
  const app = await createServiceApp({ name: 'ingestion', module: root, config, logger, defaultPort: 0, ...ingestionHttpOptions() });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

/**
 * A small simulated company driven over HTTP through a real ingestion (in-process) into the real
 * broker: every message is accepted, lands on its topic under its account, with its simulated time.
 */
describe('simulator -> ingestion -> Kafka', () => {
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  let app: NestFastifyApplication;
  let url = '';
  let recorder: TopicRecorder;
  let sourceId = '';
  let writeKey = '';
  const zendeskSecret = `simulator-zendesk-secret-${randomUUID()}`;

  beforeAll(async () => {
    ({ app, url } = await startIngestion());
    ({ sourceId, writeKey } = await createSource(url, ADMIN, `simulator ${run}`));
    await setWebhookSecret(url, ADMIN, sourceId, zendeskSecret);
    recorder = await new TopicRecorder(
      kafka,
      [Topics.product, Topics.directory, Topics.support, Topics.survey, Topics.billing, Topics.ingestRejected],
      (m) => (m.value ?? '').includes(sourceId),
    ).start();
  });

  afterAll(async () => {
    await recorder?.stop();
    await app?.close();
  });

  it('delivers a 10-account company\'s week with zero rejections, every event on its topic with the simulated dates', async () => {
    const { company, stream } = simulate({ seed: 11, accounts: 10, days: 7, start: '2026-04-06', idPrefix: 'it-sim-', zendeskShare: 0.3 });
    const progress: DriveProgress[] = [];
    const summary = await driveStream(stream, {
      ingestionUrl: url, writeKey, window: { start: company.start, end: company.end }, compressMs: 4000,
      batchSize: 250, progressEveryMs: 500, onProgress: (p) => progress.push(p), zendeskSecret,
    });
    expect(summary.rejections).toEqual([]);
    expect(summary).toMatchObject({ total: stream.length, rejected: 0, segment: { rejected: 0, pending: 0, duplicates: 0 } });
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(4000);
    expect(Object.keys(summary.records)).toEqual(['published']);
    expect(progress.length).toBeGreaterThan(1);

    const expected = {
      [Topics.product]: stream.filter((m) => m.kind === 'segment' && (m.body.type === 'track' || m.body.type === 'page')),
      [Topics.directory]: stream.filter((m) => m.kind === 'segment' && (m.body.type === 'identify' || m.body.type === 'group')),
      [Topics.support]: stream.filter((m) => m.kind === 'ticket' || m.kind === 'zendesk' || m.kind === 'call'),
      [Topics.survey]: stream.filter((m) => m.kind === 'survey'),
      [Topics.billing]: stream.filter((m) => m.kind === 'subscription'),
    };
    for (const list of Object.values(expected)) expect(list.length).toBeGreaterThan(0);
    // A fixed id prefix: each account draws from its own stream seeded by its id, so the company is the
    // same every run (the test database and broker are fresh each run; its source is new each time).
    expect(summary.sent.zendesk).toBe(stream.filter((m) => m.kind === 'zendesk').length);
    const onTopic = (topic: string) => recorder.messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.value ?? '{}') as Envelope);
    await waitFor('every simulated message on its topic', () => Object.entries(expected).every(([topic, list]) => onTopic(topic).length >= list.length), { timeoutMs: 60_000 });
    for (const [topic, list] of Object.entries(expected)) expect(onTopic(topic)).toHaveLength(list.length);
    expect(onTopic(Topics.ingestRejected)).toEqual([]);

    // Each event is keyed by the simulated account and carries the simulated time.
    const sent = new Map(stream.flatMap((m) => (m.kind === 'segment' ? [[m.body.messageId, m] as const] : [])));
    for (const e of [...onTopic(Topics.product), ...onTopic(Topics.directory)]) {
      const m = sent.get(String(e.data['messageId']));
      expect(m && m.kind === 'segment' ? [e.subject, e.data['timestamp']] : e.data).toEqual([m?.accountId, m?.kind === 'segment' ? m.body.timestamp : undefined]);
    }
    const accounts = new Set(company.accounts.map((a) => a.id));
    for (const e of [...onTopic(Topics.support), ...onTopic(Topics.survey), ...onTopic(Topics.billing)]) expect(accounts.has(e.subject ?? '')).toBe(true);
    const tickets = onTopic(Topics.support).filter((e) => e.type === 'cs.support.ticket.updated.v1');
    const firstTicket = expected[Topics.support].find((m) => m.kind === 'ticket');
    expect(tickets.some((t) => firstTicket?.kind === 'ticket' && t.data['ticketId'] === firstTicket.body.id && t.data['createdAt'] === firstTicket.body.createdAt)).toBe(true);
  });

  it('npm run simulate: the CLI creates its own source with the admin token and plays a small company', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['-r', '@swc-node/register', join(repoRoot(), 'tools/simulator/src/cli.ts'),
        '--seed', '5', '--accounts', '4', '--days', '3', '--compress', '1s', '--zendesk-share', '0.5', '--ingestion', url, '--admin-token', ADMIN, '--id-prefix', 'it-cli-', '--json'],
      { cwd: repoRoot(), env: { ...process.env, INGESTION_ADMIN_TOKEN: '' }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout) as { company: { accounts: number }; summary: { total: number; rejected: number; records: Record<string, number> } };
    expect(out.company.accounts).toBe(4);
    expect(out.summary.total).toBeGreaterThan(0);
    expect(out.summary.rejected).toBe(0);
    expect(stderr).toContain('created source');
    expect(stderr).toContain('set its Zendesk webhook signing secret');
    expect(stderr).toContain('% ');
  });
});
