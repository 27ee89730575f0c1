/**
 * `npm run simulate -- [options]`: generate a simulated SaaS customer base and play its history
 * into a running ingestion, compressed in time; or write the stream to a file.
 *
 *   --seed N            PRNG seed (42)                 --accounts N   accounts (200)
 *   --days N            simulated days (90)            --start DATE   first day (default: the window ends today, UTC)
 *   --activity X        product events per session scale (1)
 *   --ingestion URL     ingestion base URL (http://127.0.0.1:3001)
 *   --write-key KEY     a source's write key; else a new source is created with --admin-token
 *                       (or INGESTION_ADMIN_TOKEN); else the development key "dev-write-key"
 *   --admin-token T     ingestion admin token, to create a source "simulator seed N"
 *   --compress D        real duration of the whole window: 120s, 2m, 90000ms, 0 = as fast as possible (120s)
 *   --real-start T      real instant (ISO or epoch ms) at which the window starts (default: when sending starts);
 *                       services on a ScaledClock with the same anchor and rate see the simulated "now"
 *   --rate N            pace by throughput instead: N messages per second, whatever their simulated time (benchmarks)
 *   --single            Segment calls one /v1/<type> request each instead of /v1/batch (benchmarks)
 *   --zendesk-share X   share (0..1) of tickets sent as signed Zendesk webhooks; needs --admin-token (the CLI
 *                       creates the source and sets its signing secret; ingestion needs INGESTION_SECRET_KEY)
 *   --roster-url URL    PUT the CS roster to this base URL (escalation-routing); skipped when it answers 404
 *   --api-token T       bearer token with the admin role for the roster (or KIZUNA_API_TOKEN),
 *                       e.g. KIZUNA_API_TOKEN=$(npm run -s token -- --role admin)
 *   --out FILE          write the stream as NDJSON (no sending unless --ingestion is given too)
 *   --company-out FILE  write the company (accounts, CS team, ground truth, roster) as JSON
 *   --dry-run           generate (and write) only, send nothing
 *   --id-prefix P       prefix for account/user/record ids (keeps runs apart on one platform)
 *   --batch-size N      Segment calls per /v1/batch (500)   --concurrency N  parallel accounts for records (8)
 *   --json              print the final summary as JSON
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import {
  DAY_MS, createSource, setWebhookSecret, describeCompany, driveStream, postRoster, rosterOf, simulate, streamCounts, streamHash, toNdjsonLine,
  type DriveProgress, type DriveSummary,
} from './index';

const DEV_WRITE_KEY = 'dev-write-key';

interface Args {
  seed: number; accounts: number; days: number; start: string; activity: number;
  ingestion: string; ingestionGiven: boolean; writeKey?: string; adminToken?: string; apiToken?: string; compressMs: number;
  realStartMs?: number; rate?: number; zendeskShare: number; single: boolean; rosterUrl?: string; out?: string; companyOut?: string; dryRun: boolean; idPrefix: string;
  batchSize: number; concurrency: number; json: boolean;
}

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(v.trim());
  if (!m) throw new Error(`--compress: not a duration: ${v} (e.g. 120s, 2m, 90000ms, 0)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000));
}

export function parseArgs(argv: string[], env: Record<string, string | undefined>, todayMs: number): Args {
  const flags = new Map<string, string>();
  const bools = new Set(['dry-run', 'json', 'single']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (bools.has(k)) flags.set(k, 'true');
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${k}: needs a value`);
      flags.set(k, v);
    }
  }
  const known = ['seed', 'accounts', 'days', 'start', 'activity', 'ingestion', 'write-key', 'admin-token', 'compress', 'real-start', 'rate', 'single', 'zendesk-share', 'roster-url', 'api-token', 'out', 'company-out', 'dry-run', 'id-prefix', 'batch-size', 'concurrency', 'json'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}`);
  const int = (k: string, d: number) => {
    const v = flags.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${k}: not a whole number: ${v}`);
    return n;
  };
  const days = int('days', 90);
  const today = Math.floor(todayMs / DAY_MS) * DAY_MS;
  const args: Args = {
    seed: int('seed', 42), accounts: int('accounts', 200), days,
    start: flags.get('start') ?? new Date(today - days * DAY_MS).toISOString().slice(0, 10),
    activity: Number(flags.get('activity') ?? 1),
    ingestion: flags.get('ingestion') ?? 'http://127.0.0.1:3001', ingestionGiven: flags.has('ingestion'),
    compressMs: parseDuration(flags.get('compress') ?? '120s'),
    dryRun: flags.has('dry-run'), idPrefix: flags.get('id-prefix') ?? '',
    batchSize: int('batch-size', 500), concurrency: int('concurrency', 8), json: flags.has('json'), single: flags.has('single'),
    zendeskShare: Number(flags.get('zendesk-share') ?? 0),
  };
  const writeKey = flags.get('write-key');
  const adminToken = flags.get('admin-token') ?? env['INGESTION_ADMIN_TOKEN'];
  if (writeKey) args.writeKey = writeKey;
  if (adminToken) args.adminToken = adminToken;
  const apiToken = flags.get('api-token') ?? env['KIZUNA_API_TOKEN'];
  if (apiToken) args.apiToken = apiToken;
  for (const [k, f] of [['rosterUrl', 'roster-url'], ['out', 'out'], ['companyOut', 'company-out']] as const) {
    const v = flags.get(f);
    if (v) args[k] = v;
  }
  const realStart = flags.get('real-start');
  if (realStart !== undefined) {
    const ms = /^\d+$/.test(realStart) ? Number(realStart) : Date.parse(realStart);
    if (Number.isNaN(ms)) throw new Error(`--real-start: not an instant: ${realStart}`);
    args.realStartMs = ms;
  }
  if (flags.has('rate')) {
    const r = Number(flags.get('rate'));
    if (!(r > 0)) throw new Error(`--rate: must be a number > 0: ${flags.get('rate')}`);
    args.rate = r;
  }
  if (!(args.zendeskShare >= 0 && args.zendeskShare <= 1)) throw new Error('--zendesk-share: must be between 0 and 1');
  if (args.zendeskShare > 0 && (!args.adminToken || args.writeKey)) {
    throw new Error('--zendesk-share: needs --admin-token (and no --write-key): the simulator creates its source and sets the webhook signing secret');
  }
  if (args.out && !args.ingestionGiven) args.dryRun = true;
  if (!(args.activity > 0)) throw new Error('--activity: must be > 0');
  return args;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function formatProgress(p: DriveProgress): string {
  const pct = p.total ? ((100 * p.sent) / p.total).toFixed(0) : '100';
  return `[simulator] ${p.simulatedAt.slice(0, 16).replace('T', ' ')}  ${pct.padStart(3)}%  ${fmt(p.sent)}/${fmt(p.total)} sent  ` +
    `${fmt(p.rate)} msg/s  retries ${p.retries}  rejected ${p.rejected}${p.behindMs > 2000 ? `  (${(p.behindMs / 1000).toFixed(0)} s behind schedule)` : ''}`;
}

export function formatSummary(s: DriveSummary): string {
  const lines = [
    `sent ${fmt(s.total)} messages in ${(s.elapsedMs / 1000).toFixed(1)} s (${fmt(s.rate)}/s), ${s.requests} requests, ${s.batches} batches, ${s.retries} retries`,
    `  simulated ${s.window.start.slice(0, 10)} .. ${s.window.end.slice(0, 10)}`,
    `  Segment calls: ${fmt(s.sent.segment)} (accepted ${fmt(s.segment.accepted)}, duplicates ${fmt(s.segment.duplicates)}, pending ${fmt(s.segment.pending)}, rejected ${fmt(s.segment.rejected)})`,
    `  tickets ${fmt(s.sent.ticket)}${s.sent.zendesk ? ` (+ ${fmt(s.sent.zendesk)} Zendesk webhooks)` : ''}, calls ${fmt(s.sent.call)}, surveys ${fmt(s.sent.survey)}, subscription changes ${fmt(s.sent.subscription)}: ` +
      Object.entries(s.records).map(([k, v]) => `${k} ${fmt(v)}`).join(', '),
    `  rejected: ${s.rejected}`,
    ...s.rejections.slice(0, 5).map((r) => `    ${r.kind} ${r.id}: ${r.status} ${r.reason}`),
  ];
  return lines.join('\n');
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(new URL('/health/ready', url)).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`ingestion at ${url} is not ready (GET /health/ready): is the platform running (npm start)?`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env, Date.now());
  const say = (m: string) => process.stderr.write(`${m}\n`);
  const t0 = Date.now();
  const { company, stream } = simulate({
    seed: args.seed, accounts: args.accounts, days: args.days, start: args.start, activity: args.activity, idPrefix: args.idPrefix,
    zendeskShare: args.zendeskShare,
  });
  say(`[simulator] seed ${args.seed}: ${company.accounts.length} accounts, ${company.csms.length} CSMs, ${fmt(stream.length)} messages over ${args.days} days from ${company.start.slice(0, 10)} (generated in ${Date.now() - t0} ms, stream ${streamHash(stream).slice(0, 16)})`);
  say(`[simulator] ${JSON.stringify(describeCompany(company).personas)}`);
  say(`[simulator] ${JSON.stringify(streamCounts(stream))}`);
  if (args.companyOut) {
    writeFileSync(args.companyOut, `${JSON.stringify({ ...company, roster: rosterOf(company) }, null, 2)}\n`);
    say(`[simulator] company, ground truth and roster written to ${args.companyOut}`);
  }
  if (args.out) {
    const file = createWriteStream(args.out);
    for (const m of stream) if (!file.write(`${toNdjsonLine(m)}\n`)) await once(file, 'drain');
    file.end();
    await once(file, 'finish');
    say(`[simulator] stream written to ${args.out}`);
  }
  if (args.dryRun) return;

  await waitReady(args.ingestion, 60_000);
  if (args.rosterUrl) {
    const r = await postRoster(args.rosterUrl, rosterOf(company), args.apiToken ? { headers: { authorization: `Bearer ${args.apiToken}` } } : {});
    say(`[simulator] roster -> ${args.rosterUrl}: ${r.status}${r.reason ? ` (${r.reason})` : ''}${r.status !== 'skipped' ? `, ${r.csms} CSMs, ${r.teams} teams` : ''}`);
    for (const f of r.failures.slice(0, 5)) say(`    ${f.path}: ${f.status} ${f.message}`);
  }
  let writeKey = args.writeKey;
  let zendeskSecret: string | undefined;
  if (!writeKey && args.adminToken) {
    const source = await createSource(args.ingestion, args.adminToken, `simulator seed ${args.seed} ${new Date().toISOString()}`);
    writeKey = source.writeKey;
    say(`[simulator] created source ${source.sourceId}`);
    if (args.zendeskShare > 0) {
      zendeskSecret = randomBytes(24).toString('base64url');
      await setWebhookSecret(args.ingestion, args.adminToken, source.sourceId, zendeskSecret);
      say('[simulator] set its Zendesk webhook signing secret');
    }
  }
  writeKey ??= DEV_WRITE_KEY;
  const pace = args.rate ? `at ${args.rate} messages/s` : args.compressMs ? `in ${(args.compressMs / 1000).toFixed(0)} s` : 'as fast as possible';
  say(`[simulator] playing ${args.days} days into ${args.ingestion} ${pace}${args.single ? ', one request per Segment call' : ''}`);
  const realStartMs = args.realStartMs ?? Date.now();
  if (args.compressMs > 0 && !args.rate) {
    const rate = (Date.parse(company.end) - Date.parse(company.start)) / args.compressMs;
    say(`[simulator] simulated clock: ${company.start} at real ${new Date(realStartMs).toISOString()}, ${rate.toFixed(1)}x real time`);
  }
  const tty = process.stderr.isTTY;
  const summary = await driveStream(stream, {
    ingestionUrl: args.ingestion, writeKey, window: { start: company.start, end: company.end }, compressMs: args.compressMs, realStartMs,
    batchSize: args.batchSize, concurrency: args.concurrency, segmentMode: args.single ? 'single' : 'batch',
    ...(args.rate ? { ratePerSecond: args.rate } : {}),
    ...(zendeskSecret ? { zendeskSecret } : {}),
    onProgress: (p) => process.stderr.write(tty ? `\r${formatProgress(p)}\x1b[K` : `${formatProgress(p)}\n`),
  });
  if (tty) process.stderr.write('\n');
  if (args.json) process.stdout.write(`${JSON.stringify({ company: describeCompany(company), summary }, null, 2)}\n`);
  else process.stdout.write(`${formatSummary(summary)}\n`);
  if (summary.rejected > 0) process.exitCode = 2;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`[simulator] ${(e as Error).message}\n`);
    process.exit(1);
  });
}
