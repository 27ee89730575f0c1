import { randomUUID } from 'node:crypto';
import { Topics } from '@kizuna/shared/contracts';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { LOCAL_POSTGRES_URL, startConsumerGroupAtEnd, startServiceProcess, stopServiceProcess, testKafka, testPortRange, waitFor, waitUntilReady, type RunningService } from '@kizuna/shared/testing';

const BASE_PORT = testPortRange('laneProcess');
const databaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_lanes`;
  return u.toString();
};
const WRITE_KEY = `e2e-write-key-${randomUUID()}`;
const auth = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` };

/** The child processes of `pid` (Linux: /proc/<pid>/task/<pid>/children). */
const childrenOf = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
/** A process's niceness (field 19 of /proc/<pid>/stat, counted after the command's closing parenthesis). */
const niceOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
/** Running: its /proc entry exists and it is not a zombie waiting to be reaped. */
const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

/**
 * KAFKA_LANES=process: notification runs its product lane (feature use, for adoption plays) in a child
 * process at a lower priority. The child applies product events posted to ingestion, is replaced when
 * it dies, stops with the service, and does not outlive a killed service.
 */
describe('a service whose lanes run in a process of their own', () => {
  const groupPrefix = `e2e-lanes-${randomUUID().slice(0, 8)}`;
  const kafka = testKafka();
  let ingestion: RunningService;
  let notification: RunningService;
  let db: Client;
  const env = () => ({
    KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
    DATABASE_URL: databaseUrl(),
    KAFKA_GROUP_PREFIX: groupPrefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_LANES: 'process',
    KAFKA_LANES_NICE: '7',
    // A killed lane process's member is given up after this (the new one's join waits for it).
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY,
  });

  beforeAll(async () => {
    await Promise.all(['notification', 'notification.product'].map((g) => startConsumerGroupAtEnd(kafka, `${groupPrefix}.${g}`, [Topics.product, Topics.directory, Topics.escalation, Topics.health, Topics.lifecycle], 3)));
    ingestion = startServiceProcess('ingestion', BASE_PORT, env());
    notification = startServiceProcess('notification', BASE_PORT + 1, env());
    await Promise.all([waitUntilReady(ingestion), waitUntilReady(notification)]);
    db = new Client({ connectionString: databaseUrl() });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    if (ingestion) await stopServiceProcess(ingestion);
    if (notification) await stopServiceProcess(notification);
  });

  const lanePid = async (): Promise<number> => {
    let pid = 0;
    await waitFor('the lane process', () => {
      pid = childrenOf(notification.process.pid as number)[0] ?? 0;
      return pid > 0;
    }, { timeoutMs: 30_000 });
    return pid;
  };

  async function trackAndSeeApplied(): Promise<void> {
    const accountId = `acc-${randomUUID()}`;
    const res = await fetch(`${ingestion.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ userId: 'user-1', event: 'Report Exported', context: { groupId: accountId }, timestamp: '2026-03-01T10:00:00.000Z' }),
    });
    expect(res.status).toBe(200);
    await waitFor('the feature use applied by the lane process', async () => {
      const { rows } = await db.query(`SELECT first_used_at FROM notification.account_feature_use WHERE account_id = $1 AND feature = 'Report Exported'`, [accountId]);
      return rows.length === 1 && (rows[0].first_used_at as Date).toISOString() === '2026-03-01T10:00:00.000Z';
    }, { timeoutMs: 60_000 });
  }

  it('runs the product lane in a child at the configured niceness, and the child applies product events', async () => {
    const pid = await lanePid();
    expect(niceOf(pid)).toBe(7);
    expect(niceOf(notification.process.pid as number)).toBe(0);
    await trackAndSeeApplied();
    // Each process runs its own groups only: the parent the service's group, the child the lane's.
    const started = notification.output.filter((l) => l.includes('"msg":"consumer started"'));
    const parent = started.filter((l) => !l.includes('"process":"lanes"'));
    const child = started.filter((l) => l.includes('"process":"lanes"'));
    expect(parent.length).toBe(1);
    expect(parent[0]).toContain(`"groupId":"${groupPrefix}.notification"`);
    expect(parent[0]).not.toContain(`"groupId":"${groupPrefix}.notification.product"`);
    expect(child.length).toBeGreaterThanOrEqual(1);
    expect(child[0]).toContain(`"groupId":"${groupPrefix}.notification.product"`);
    expect(child[0]).not.toContain(`"groupId":"${groupPrefix}.notification"`);
  }, 120_000);

  it('replaces a lane process that dies, and the new one applies product events', async () => {
    const first = await lanePid();
    process.kill(first, 'SIGKILL');
    let second = 0;
    await waitFor('another lane process', () => {
      second = childrenOf(notification.process.pid as number)[0] ?? 0;
      return second > 0 && second !== first;
    }, { timeoutMs: 30_000 });
    expect(notification.output.some((l) => l.includes('the lane process died; starting another'))).toBe(true);
    await trackAndSeeApplied();
  }, 180_000);

  it('stops the lane process with the service (exit 0), and a killed service leaves no lane process behind', async () => {
    const pid = await lanePid();
    expect(await stopServiceProcess(notification)).toBe(0);
    expect(alive(pid)).toBe(false);

    notification = startServiceProcess('notification', BASE_PORT + 1, env());
    await waitUntilReady(notification);
    const orphan = await lanePid();
    notification.process.kill('SIGKILL');
    await notification.exit;
    await waitFor('the lane process to stop after its parent was killed', () => !alive(orphan), { timeoutMs: 40_000 });
  }, 180_000);
});
