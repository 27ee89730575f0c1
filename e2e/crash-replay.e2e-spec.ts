import { join } from 'node:path';
import { Topics } from '@kizuna/shared/contracts';
import { LOCAL_POSTGRES_URL, TEST_KAFKA_PORT, repoRoot, testPortRange } from '@kizuna/shared/testing';
import { localBrokerAvailable } from '../tools/chaos/chaos-broker';
import { runCrashReplay, summarise, type CrashReplayReport } from '../tools/chaos/crash-replay';

/** The services' ports: this suite's range in the shared table (testPortRange). */
const BASE_PORT = testPortRange('crashReplay');
/** The harness's own broker: KIZUNA_CHAOS_E2E_KAFKA_PORT (and the next port, its controller), default the test Kafka port + 4. */
const CHAOS_KAFKA_PORT = Number(process.env['KIZUNA_CHAOS_E2E_KAFKA_PORT'] || TEST_KAFKA_PORT + 4);
const chaosDatabaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_chaos`;
  return u.toString();
};

/**
 * The crash-replay harness, short profile (`npm run chaos` runs the long one, 100k events): about
 * two thousand events through ingestion's HTTP API, duplicates mixed in, a random service SIGKILLed
 * every 2-3.5 s (at least 8 kills, going on while the consumers catch up) and the broker restarted once; then every acknowledged event must be reflected
 * exactly once in each service's state. The harness runs its own broker (next to the suite's, on
 * the test Kafka port + 4, or KIZUNA_CHAOS_E2E_KAFKA_PORT), because the integration tests share the suite's broker; under
 * Testcontainers (no local Java) it uses the suite's broker and skips the broker restart.
 */
describe('crash replay (short profile): nothing lost, nothing counted twice under SIGKILLs and a broker restart', () => {
  let report: CrashReplayReport;
  let ownBroker = false;

  beforeAll(async () => {
    ownBroker = await localBrokerAvailable();
    report = await runCrashReplay({
      productEvents: 2000,
      accounts: 40,
      duplicateRate: 0.05,
      driveMs: 20_000,
      killEveryMs: [2000, 3500],
      minKills: 8,
      broker: ownBroker ? { kind: 'own', port: CHAOS_KAFKA_PORT } : { kind: 'external', brokers: process.env['KAFKA_BROKERS'] ?? '' },
      databaseUrl: chaosDatabaseUrl(),
      basePort: BASE_PORT,
      partitions: 3,
      batchSize: 50,
      concurrency: 3,
      settleTimeoutMs: 180_000,
      seed: 20261201,
      workDir: join(repoRoot(), '.kizuna', 'chaos-e2e'),
      log: (m) => process.env['KIZUNA_CHAOS_LOG'] && process.stderr.write(`[chaos] ${m}\n`),
    });
    process.stderr.write(`${summarise(report)}\n`);
  }, 480_000);

  it('acknowledged every event while services were being killed, and checked each service against the ledger', () => {
    expect(report.failures).toEqual([]);
    expect(report.events.acknowledged).toBe(report.events.distinct);
    // The chaos did happen: several kills (so several services), and the broker restart when it is ours.
    expect(Object.values(report.fleet.kills).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(8);
    expect(report.brokerRestarts).toBe(ownBroker ? 1 : 0);
  });

  it('reflects each acknowledged event exactly once in every consuming service, with one escalation per (account, reason)', () => {
    const names = report.checks.filter((c) => c.ok).map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'every acknowledged event is on Kafka',
        'health-scoring applied each event once (inbox)',
        'lifecycle applied each event once (inbox)',
        'escalation-routing applied each event once (inbox)',
        'notification applied each event once (inbox)',
        'health-scoring counted each product event once (account_daily_activity)',
        'lifecycle signal log reflects each event once',
        'escalation-routing recorded each ticket once',
        'exactly one escalation per (account, reason), each the plan calls for',
        'health-scoring knows each escalation once',
        'no dead letters',
        'consumer lag back to 0',
      ]),
    );
  });

  it('delivered every notification it recorded (e-mail to an SMTP sink, signed webhooks to an HTTP sink), none twice', () => {
    const names = report.checks.filter((c) => c.ok).map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'each escalation assignment notified its assignee once',
        'every e-mail and webhook recorded as delivered arrived, and nothing else',
        'no e-mail or webhook delivered twice',
      ]),
    );
    // Deliveries did happen during the replay (and notification was killed meanwhile: every service is, at least once).
    expect(report.fleet.kills.notification).toBeGreaterThan(0);
    expect(report.notifications?.email).toBeGreaterThan(0);
    expect(report.notifications?.webhook).toBeGreaterThan(0);
  });

  it('absorbed the duplicate publications the kills and the retries caused', () => {
    const product = report.duplicatePublications[Topics.product];
    // Deliberate duplicates sent after a restart of ingestion are published again under the same id.
    expect(product?.distinct).toBe(report.events.product);
    expect(product?.messages).toBeGreaterThanOrEqual(product?.distinct ?? Infinity);
  });

  it('shuts every service down gracefully afterwards (SIGTERM, exit 0)', () => {
    expect(Object.values(report.shutdownExitCodes)).toEqual([0, 0, 0, 0, 0]);
  });
});
