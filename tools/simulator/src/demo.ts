/**
 * The demo `npm start` runs: a simulated company played into the running platform, then a summary read
 * back from the services' public APIs and from the local mail and webhook sinks that `npm start` runs.
 *
 *   node -r @swc-node/register tools/simulator/src/demo.ts --start <ISO> (--real-start <ms> | --clock-file FILE) --compress <ms>
 *        [--seed 42] [--accounts 200] [--days 90] [--activity 0.3] [--mail-dir DIR] [--webhook-dir DIR]
 *        [--webhook-url URL] [--summary-out FILE]
 *
 * Service URLs come from KIZUNA_INGESTION_URL.. (defaults 127.0.0.1:3001..3005); ingestion's admin token
 * from INGESTION_ADMIN_TOKEN; a bearer token for the other APIs, when they require one, from KIZUNA_DEMO_TOKEN.
 * The services run on the same window clock (KIZUNA_CLOCK_WINDOW), so their "now" follows the simulation;
 * with --clock-file (their KIZUNA_CLOCK_START_FILE) the window starts when this script has set the
 * platform up and writes the start there, however long the services took to start.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createSource, driveStream, evaluateAgainstTruth, formatEvaluation, observePlatform, postRoster, rosterOf, simulate, steppedPlay, waitUntilDrained, writeClock, type DriveProgress, type DriveSummary,
} from './index';
import { formatProgress } from './cli';

const url = (name: string, port: number) => process.env[`KIZUNA_${name}_URL`] ?? `http://127.0.0.1:${port}`;
const URLS = {
  ingestion: url('INGESTION', 3001),
  health: url('HEALTH_SCORING', 3002),
  lifecycle: url('LIFECYCLE', 3003),
  escalations: url('ESCALATION_ROUTING', 3004),
  notification: url('NOTIFICATION', 3005),
};

interface DemoArgs {
  seed: number;
  accounts: number;
  days: number;
  activity: number;
  start: string;
  /** Real start of the window, fixed in advance; or decided here once the platform is set up (clockFile). */
  realStartMs?: number;
  /** Where to write the real start the services' clock waits for (KIZUNA_CLOCK_START_FILE). */
  clockFile?: string;
  compressMs: number;
  /** Simulated days per step of a stepped play (--clock-file). */
  stepDays: number;
  mailDir?: string;
  webhookDir?: string;
  webhookUrl?: string;
  summaryOut?: string;
}

function parse(argv: string[]): DemoArgs {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i] ?? '';
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new Error(`demo: expected --option value pairs, got ${argv.slice(i).join(' ')}`);
    flags.set(k.slice(2), v);
  }
  const need = (k: string) => {
    const v = flags.get(k);
    if (v === undefined) throw new Error(`demo: --${k} is required`);
    return v;
  };
  const args: DemoArgs = {
    seed: Number(flags.get('seed') ?? 42),
    accounts: Number(flags.get('accounts') ?? 200),
    days: Number(flags.get('days') ?? 90),
    activity: Number(flags.get('activity') ?? 0.3),
    start: need('start'),
    compressMs: Number(need('compress')),
    stepDays: Number(flags.get('step-days') ?? 1),
  };
  if (!(args.stepDays > 0)) throw new Error(`demo: --step-days must be a number > 0, got ${flags.get('step-days')}`);
  if (flags.has('real-start')) args.realStartMs = Number(flags.get('real-start'));
  else if (flags.has('clock-file')) args.clockFile = flags.get('clock-file') as string;
  else throw new Error('demo: --real-start or --clock-file is required');
  for (const [k, f] of [['mailDir', 'mail-dir'], ['webhookDir', 'webhook-dir'], ['webhookUrl', 'webhook-url'], ['summaryOut', 'summary-out']] as const) {
    const v = flags.get(f);
    if (v) args[k] = v;
  }
  return args;
}

const say = (m: string) => process.stdout.write(`\x1b[1m[demo]\x1b[0m ${m}\n`);
const bearer = (): Record<string, string> => (process.env['KIZUNA_DEMO_TOKEN'] ? { authorization: `Bearer ${process.env['KIZUNA_DEMO_TOKEN']}` } : {});

async function api<T>(base: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(new URL(path, base), { ...init, headers: { 'content-type': 'application/json', ...bearer(), ...(init.headers as Record<string, string> | undefined) } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${base}${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

function filesIn(dir: string | undefined): string[] {
  return dir && existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

/** Recipients of the captured e-mails (the sink writes one JSON per message). */
function mailRecipients(dir: string | undefined): Map<string, number> {
  const by = new Map<string, number>();
  for (const f of filesIn(dir)) {
    const m = JSON.parse(readFileSync(f, 'utf8')) as { to: string[] };
    for (const to of m.to) by.set(to, (by.get(to) ?? 0) + 1);
  }
  return by;
}

/** How many deliveries notification created on a channel (every status: sent, held, retrying), for one recipient or all. */
async function deliveriesDecided(channel: string, recipient?: string): Promise<number> {
  const who = recipient ? `&recipient=${encodeURIComponent(recipient)}` : '';
  return (await api<{ total: number }>(URLS.notification, `/v1/deliveries?channel=${channel}${who}&limit=1`)).total;
}

const count = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
};
const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(1)} %`);

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const { company, stream } = simulate({ seed: args.seed, accounts: args.accounts, days: args.days, start: args.start, activity: args.activity });
  say(`simulated company (seed ${args.seed}): ${company.accounts.length} accounts, ${company.csms.length} CSMs, ${stream.length.toLocaleString('en-US')} messages over ${args.days} days (${company.start.slice(0, 10)} .. ${company.end.slice(0, 10)})`);

  const roster = rosterOf(company);
  const posted = await postRoster(URLS.escalations, roster, { headers: bearer() });
  say(`CS roster -> escalation-routing: ${posted.status}, ${posted.csms} CSMs, ${posted.teams} teams`);
  for (const f of posted.failures.slice(0, 5)) say(`\x1b[33m  ${f.path}: ${f.status} ${f.message}\x1b[0m`);
  let recipients = 0;
  for (const c of company.csms) {
    const lead = company.teams.some((t) => t.leadCsmId === c.id);
    const body = {
      email: c.email,
      name: c.name,
      timeZone: company.teams.find((t) => t.id === c.teamId)?.timezone ?? 'UTC',
      // A team lead also takes their escalations and danger alerts as a signed webhook (a recipient's
      // channels per trigger replace the trigger's defaults, which have no webhook).
      ...(lead && args.webhookUrl
        ? {
          webhooks: [{ id: 'demo-sink', url: args.webhookUrl }],
          channels: Object.fromEntries(['escalation.assigned', 'escalation.sla-breached', 'health.danger'].map((t) => [t, ['email', 'webhook', 'in-app']])),
        }
        : {}),
    };
    try {
      await api(URLS.notification, `/v1/recipients/${encodeURIComponent(c.id)}`, { method: 'PUT', body: JSON.stringify(body) });
      recipients++;
    } catch (e) {
      say(`\x1b[33mrecipient ${c.id} refused: ${(e as Error).message}\x1b[0m`);
    }
  }
  say(`notification recipients: ${recipients} CSMs (team leads also get a signed webhook to the local sink)`);

  const adminToken = process.env['INGESTION_ADMIN_TOKEN'];
  if (!adminToken) throw new Error('demo: INGESTION_ADMIN_TOKEN is not set');
  const source = await createSource(URLS.ingestion, adminToken, `demo seed ${args.seed}`);
  const tty = process.stdout.isTTY;
  let lastLine = 0;
  const onProgress = (p: DriveProgress) => {
    if (tty) process.stdout.write(`\r${formatProgress(p)}\x1b[K`);
    else if (Date.now() - lastLine > 10_000) {
      lastLine = Date.now();
      process.stdout.write(`${formatProgress(p)}\n`);
    }
  };
  const clockFile = args.clockFile;
  let summary: DriveSummary;
  if (clockFile) {
    // One step (--step-days simulated days) at a time: the services' clock moves to the end of the step, its
    // messages go in, and the next step starts once every service has consumed them, however slow the machine.
    say(`playing ${args.days} simulated days ${args.stepDays} at a time, each step once the services have consumed the one before`);
    summary = await driveStream(stream, {
      ingestionUrl: URLS.ingestion, writeKey: source.writeKey, window: { start: company.start, end: company.end }, compressMs: 0, stepMs: args.stepDays * 86_400_000,
      ...steppedPlay(clockFile, Object.values(URLS), bearer(), { timeoutMs: 300_000 }),
      progressEveryMs: 1000,
      onProgress,
    });
  } else {
    const realStartMs = args.realStartMs ?? Date.now();
    const wait = realStartMs - Date.now();
    if (wait > 0) say(`the simulated clock starts in ${(wait / 1000).toFixed(0)} s; ${args.days} days will take ${(args.compressMs / 1000).toFixed(0)} s`);
    summary = await driveStream(stream, {
      ingestionUrl: URLS.ingestion, writeKey: source.writeKey, window: { start: company.start, end: company.end }, compressMs: args.compressMs, realStartMs, onProgress,
    });
  }
  if (tty) process.stdout.write('\n');
  say(`sent ${summary.total.toLocaleString('en-US')} messages in ${(summary.elapsedMs / 1000).toFixed(0)} s, ${summary.rejected} rejected; waiting for the pipeline to drain...`);
  const settled = await waitUntilDrained(Object.values(URLS), bearer(), { timeoutMs: 120_000 });
  if (!settled) say('\x1b[33mthe pipeline has not fully drained after 120 s; the figures below are what it holds now\x1b[0m');

  // Deliveries due now are sent (held ones wait for their recipient's quiet hours to end).
  for (let i = 0; i < 60; i++) {
    const due = (await Promise.all(['pending', 'sending'].map((st) => api<{ items: { held: boolean }[] }>(URLS.notification, `/v1/deliveries?status=${st}&limit=200`))))
      .flatMap((r) => r.items).filter((d) => !d.held).length;
    if (due === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }

  const { observations, escalations } = await observePlatform(company, URLS, bearer());
  const evaluation = evaluateAgainstTruth(company, observations);
  const kpis = await api<Record<string, { value: unknown }> & { accounts: number }>(
    URLS.lifecycle,
    // From the second day: established accounts appear on the first one, and revenue is compared with
    // what accounts had just before the period.
    `/v1/kpis?from=${encodeURIComponent(new Date(Date.parse(company.start) + 86_400_000).toISOString())}&to=${encodeURIComponent(company.end)}`,
  );
  const mail = mailRecipients(args.mailDir);
  const hooks = filesIn(args.webhookDir).length;
  // What notification decided to send (deterministic for a seed), apart from what reached the sinks by
  // now (the delivery worker runs on real time: quiet hours, retries and digests hold some back).
  const emailDeliveries = await deliveriesDecided('email');
  const webhookDeliveries = await deliveriesDecided('webhook');
  const emailsPerCsm = new Map<string, number>();
  for (const c of company.csms) emailsPerCsm.set(c.name, await deliveriesDecided('email', c.id));

  const lines: string[] = [];
  const out = (l = '') => lines.push(l);
  out('');
  out(`Kizuna demo: ${company.accounts.length} accounts, ${args.days} simulated days (seed ${args.seed})`);
  out('─'.repeat(78));
  out(`Health bands:   ${count(observations.filter((o) => o.band), (o) => o.band ?? '').map(([k, n]) => `${k} ${n}`).join(' · ')}`);
  out(`Phases:         ${count(observations.filter((o) => o.phase), (o) => o.phase ?? '').map(([k, n]) => `${k} ${n}`).join(' · ')}`);
  out(`Escalations:    ${escalations.length} (${count(escalations, (e) => e.reason).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  for (const [who, n] of count(escalations, (e) => e.assignee?.name ?? '(unassigned)').slice(0, 8)) out(`                ${String(n).padStart(3)} to ${who}`);
  const captured = [...mail.values()].reduce((a, b) => a + b, 0);
  out(`Notifications:  ${emailDeliveries} e-mails and ${webhookDeliveries} signed webhooks; so far ${captured} e-mails reached the local SMTP sink and ${hooks} webhooks the webhook sink`);
  for (const [to, n] of [...emailsPerCsm.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5)) out(`                ${String(n).padStart(3)} to ${to}`);
  const k = (key: string) => (kpis[key]?.value as number | null | undefined) ?? null;
  out(`KPIs (window):  NRR ${pct(k('netRevenueRetention'))} · GRR ${pct(k('grossRevenueRetention'))} · logo churn ${pct(k('logoChurnRate'))} · onboarding completion ${pct(k('onboardingCompletionRate'))} · NPS ${k('netPromoterScore') === null ? 'n/a' : Number(k('netPromoterScore')).toFixed(1)}`);
  out(`At risk:        ${evaluation.atRisk.flagged} of ${evaluation.atRisk.scripted} scripted at-risk accounts flagged (danger, a risk escalation or retention); ${evaluation.churn.flaggedBeforeChurn} of ${evaluation.churn.churned} churned accounts flagged before they churned`);
  out('');
  out(formatEvaluation(evaluation));
  out('');
  out('Where to look:');
  out(`  health          ${URLS.health}/v1/health?band=danger          API docs ${URLS.health}/docs`);
  out(`  lifecycle, KPIs ${URLS.lifecycle}/v1/kpis                     API docs ${URLS.lifecycle}/docs`);
  out(`  escalations     ${URLS.escalations}/v1/escalations             API docs ${URLS.escalations}/docs`);
  out(`  notifications   ${URLS.notification}/v1/deliveries             API docs ${URLS.notification}/docs`);
  out(`  captured mail   ${args.mailDir ?? '(no sink)'}`);
  out('  traces          npm run trace -- <accountId>          metrics: GET /metrics on each service');
  process.stdout.write(`${lines.join('\n')}\n`);
  // The summary is read: from now on the services' clock runs at real speed from the end of the window.
  if (clockFile) writeClock(clockFile, company.end, { rate: 1 });
  if (args.summaryOut) writeFileSync(args.summaryOut, `${JSON.stringify({ evaluation, escalations: escalations.length, emailDeliveries, emailsPerCsm: Object.fromEntries([...emailsPerCsm].sort()), webhookDeliveries, mail: Object.fromEntries(mail), webhooks: hooks, kpis }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  say(`\x1b[31m${(e as Error).message}\x1b[0m`);
  process.exit(1);
});
