/**
 * `npm run chaos`: the crash-replay harness, long profile (the short one runs in CI as
 * e2e/crash-replay.e2e-spec.ts).
 *   npm run chaos -- [--events 100000] [--accounts 2000] [--drive-seconds 600] [--kill-every 3-6]
 *                    [--duplicates 0.05] [--seed 42]
 * Its own broker (infra/kafka on KIZUNA_CHAOS_KAFKA_PORT, default 19094, data in .kizuna/chaos/kafka;
 * restarted once mid-run) unless KAFKA_BROKERS is set (then never restarted); its own database
 * (KIZUNA_CHAOS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/kizuna_chaos, dropped and
 * created again); services on KIZUNA_CHAOS_BASE_PORT.. +4 (default 14001). Prints a summary, writes
 * the whole report to .kizuna/chaos/last-report.json, exits 1 when a check failed.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, useTestAuthEnv } from '@kizuna/shared/testing';
import { localBrokerAvailable } from './chaos-broker';
import { runCrashReplay, summarise } from './crash-replay';

async function main(): Promise<void> {
  // The services refuse to start without API keys; the harness calls no authenticated route.
  if (!process.env['AUTH_JWT_KEYS']) useTestAuthEnv();
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      accounts: { type: 'string' },
      'drive-seconds': { type: 'string' },
      'kill-every': { type: 'string', default: '3-6' },
      duplicates: { type: 'string', default: '0.05' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
    },
  });
  const events = Number(values.events);
  const [killMin, killMax] = (values['kill-every'] ?? '3-6').split('-').map((s) => Number(s) * 1000);
  const external = process.env['KAFKA_BROKERS'];
  if (!external && !(await localBrokerAvailable())) throw new Error('no Java for the local broker: set KAFKA_BROKERS (that broker is then not restarted)');
  const started = Date.now();
  const report = await runCrashReplay({
    productEvents: events,
    accounts: Number(values.accounts ?? Math.max(20, Math.round(events / 50))),
    duplicateRate: Number(values.duplicates),
    // The default pace: about 150 events a second, what one machine's consumers keep up with.
    driveMs: Number(values['drive-seconds'] ?? Math.max(30, Math.round(events / 150))) * 1000,
    killEveryMs: [killMin ?? 3000, killMax ?? killMin ?? 6000],
    minKills: 20,
    broker: external ? { kind: 'external', brokers: external } : { kind: 'own', port: Number(process.env['KIZUNA_CHAOS_KAFKA_PORT'] || 19094) },
    databaseUrl: process.env['KIZUNA_CHAOS_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/kizuna_chaos',
    basePort: Number(process.env['KIZUNA_CHAOS_BASE_PORT'] || 14001),
    partitions: 6,
    batchSize: 100,
    concurrency: 4,
    settleTimeoutMs: 30 * 60 * 1000,
    seed: Number(values.seed),
    workDir: join(repoRoot(), '.kizuna', 'chaos'),
    log: (m) => process.stdout.write(`[chaos +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}\n`),
  });
  const dir = join(repoRoot(), '.kizuna', 'chaos');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'last-report.json'), JSON.stringify(report, null, 2));
  process.stdout.write(`\n${summarise(report)}\n(report: .kizuna/chaos/last-report.json)\n`);
  process.exit(report.ok ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
