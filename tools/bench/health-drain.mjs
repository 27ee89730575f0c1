#!/usr/bin/env node
// `npm run bench:health-drain [-- options]`: health-scoring's consumer capacity on its own. Loads a
// backlog of product events through the ingestion service (health-scoring not running), then starts
// health-scoring on it and times how long its group takes to catch up (lag 0): events applied per
// second with nothing else competing for the cores, plus its CPU and peak RSS. A development tool
// for the streaming path; `npm run bench` measures the latency under load.
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { groupLag, healthGroup, HEALTH_INPUT_TOPICS, startHealthScoring, stopHealthScoring } from './lib/health.mjs';
import { DEFAULT_DATABASE_URL, freshBenchDatabase, kafkaClient, startBenchKafka, stopBenchKafka } from './lib/infra.mjs';
import { freePort, runCommand, sleep, startProcess, stopProcess, waitForHttp } from './lib/processes.mjs';
import { cpuBetween, cpuSnapshot, rssSampler } from './lib/sampler.mjs';
import { summariseProfile, formatProfile } from './lib/profile.mjs';
import { devJwtKeys } from '../scripts/dev-auth.mjs';

const require = createRequire(import.meta.url);
const { request } = require('undici');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.env.AUTH_JWT_KEYS ??= devJwtKeys();
const log = (m) => console.log(`[health-drain] ${m}`);

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '20000' },
    partitions: { type: 'string', default: '6' },
    profile: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
  },
});
const events = Number(values.events);
const accounts = Number(values.accounts);
const WRITE_KEY = 'wk_bench_health_drain_0000000000000000';

async function main() {
  if (!values['skip-build']) await runCommand(process.execPath, [join(root, 'tools/scripts/build.mjs')]);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = join(root, '.kizuna/bench', `drain-${stamp}`);
  mkdirSync(logDir, { recursive: true });
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  await freshBenchDatabase(databaseUrl);
  const kafka = await startBenchKafka(root, log);
  const client = kafkaClient(kafka.brokers);
  const admin = client.admin();
  await admin.connect();
  let ingestion;
  let health;
  try {
    const port = await freePort();
    ingestion = startProcess('ingestion', process.execPath, [join(root, 'dist/apps/ingestion/src/main.js')], {
      cwd: root,
      logFile: join(logDir, 'ingestion.log'),
      env: {
        ...process.env, PORT: String(port), HOST: '127.0.0.1', KAFKA_BROKERS: kafka.brokers, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn',
        KAFKA_TOPIC_PARTITIONS: values.partitions, INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY, INGESTION_RATE_LIMIT_PER_MINUTE: '100000000',
      },
    });
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, ingestion, 90000);
    const t0 = Date.now();
    const run = Date.now().toString(36);
    const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    const day = Date.now();
    let sent = 0;
    const send = async () => {
      while (sent < events) {
        const batch = [];
        for (let i = 0; i < 100 && sent < events; i++, sent++) {
          const a = sent % accounts;
          batch.push({
            type: 'track', event: sent % 7 === 0 ? 'Report Exported' : 'Feature Used', userId: `u-${a}-${sent % 13}`, messageId: `${run}-${sent}`,
            properties: { feature: 'dashboard' }, context: { groupId: `acct-${a}` }, timestamp: new Date(day - (sent % 20) * 86400000).toISOString(),
          });
        }
        const r = await request(`http://127.0.0.1:${port}/v1/batch`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
        const text = await r.body.text();
        if (r.statusCode !== 200) throw new Error(`ingestion answered ${r.statusCode}: ${text.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, send));
    log(`loaded ${events.toLocaleString('en-US')} events for ${accounts.toLocaleString('en-US')} accounts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await stopProcess(ingestion);
    ingestion = undefined;

    const profileDir = values.profile ? join(logDir, 'profile') : undefined;
    health = await startHealthScoring(root, { brokers: kafka.brokers, databaseUrl, partitions: Number(values.partitions), logDir, logName: 'health-scoring', profileDir });
    const rss = rssSampler(health.service.pid);
    const cpu0 = cpuSnapshot({ health: health.service.pid });
    const started = Date.now();
    let lag;
    let lastLog = 0;
    for (;;) {
      lag = await groupLag(admin, healthGroup(), HEALTH_INPUT_TOPICS);
      if (lag.committed > 0 && lag.total === 0) break;
      if (Date.now() - lastLog > 5000) {
        log(`lag ${lag.total.toLocaleString('en-US')} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
        lastLog = Date.now();
      }
      if (Date.now() - started > 600000) throw new Error('not drained in 10 minutes');
      await sleep(200);
    }
    const secs = (Date.now() - started) / 1000;
    const cpu = cpuBetween(cpu0, cpuSnapshot({ health: health.service.pid }));
    rss.stop();
    log(`drained ${events.toLocaleString('en-US')} events in ${secs.toFixed(1)} s: ${Math.round(events / secs).toLocaleString('en-US')} events/s; ` +
      `health-scoring CPU ${JSON.stringify(cpu)}; peak RSS ${rss.peakMiB()} MiB`);
    await stopHealthScoring(health);
    health = undefined;
    if (profileDir && existsSync(profileDir)) {
      const { readdirSync } = await import('node:fs');
      for (const f of readdirSync(profileDir)) console.log(formatProfile(summariseProfile(join(profileDir, f), { top: 40 })));
    }
  } finally {
    if (ingestion) await stopProcess(ingestion);
    if (health) await stopHealthScoring(health);
    await admin.disconnect();
    await stopBenchKafka(root, kafka);
  }
}

main().catch((e) => {
  console.error(`[health-drain] FAILED: ${e.stack}`);
  process.exit(1);
});
