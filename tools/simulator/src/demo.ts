/**
 * The demo `npm start` runs: a simulated company played into the running platform, then a summary read
 * back from the services' public APIs and from the local mail and webhook sinks that `npm start` runs.
 *
 *   node -r @swc-node/register tools/simulator/src/demo.ts --start <ISO> --real-start <ms> --compress <ms>
 *        [--seed 42] [--accounts 200] [--days 90] [--activity 0.3] [--mail-dir DIR] [--webhook-dir DIR]
 *        [--webhook-url URL] [--summary-out FILE]
 *
 * Service URLs come from KIZUNA_INGESTION_URL.. (defaults 127.0.0.1:3001..3005); ingestion's admin token
 * from INGESTION_ADMIN_TOKEN; a bearer token for the other APIs, when they require one, from KIZUNA_DEMO_TOKEN.
 * The services run on the same window clock (KIZUNA_CLOCK_WINDOW), so their "now" follows the simulation.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createSource, driveStream, evaluateAgainstTruth, formatEvaluation, postRoster, rosterOf, simulate,
  type AccountObservation, type Company, type DriveProgress,
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
  realStartMs: number;
  compressMs: number;
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
    realStartMs: Number(need('real-start')),
    compressMs: Number(need('compress')),
  };
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

/** Every page of a paged list ({ total, items }). */
async function all<T>(base: string, path: string, pageSize = 200): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api<{ total: number; items: T[] }>(base, `${path}${sep}limit=${pageSize}&offset=${offset}`);
    out.push(...page.items);
    if (page.items.length < pageSize || out.length >= page.total) return out;
  }
}

/** The sum of a metric over every service's /metrics (e.g. consumer lag, outbox backlog). */
async function metricSum(name: string): Promise<number> {
  let sum = 0;
  for (const base of Object.values(URLS)) {
    const text = await fetch(new URL('/metrics', base), { headers: bearer() }).then((r) => r.text()).catch(() => '');
    for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/** Waits until no consumer lags and no outbox holds anything, twice in a row (at most `timeoutMs`). */
async function drained(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const pending = (await metricSum('kizuna_consumer_lag')) + (await metricSum('kizuna_outbox_backlog'));
    quiet = pending === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
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

interface EscalationItem {
  accountId: string;
  reason: string;
  state: string;
  openedAt: string;
  assignee: { csmId: string; name: string } | null;
}

async function observe(company: Company): Promise<{ observations: AccountObservation[]; escalations: EscalationItem[] }> {
  const health = await all<{ accountId: string; band: string }>(URLS.health, '/v1/health');
  const phases = await all<{ accountId: string; phase: string }>(URLS.lifecycle, '/v1/accounts');
  const escalations = await all<EscalationItem>(URLS.escalations, '/v1/escalations');
  const bandOf = new Map(health.map((h) => [h.accountId, h.band]));
  const phaseOf = new Map(phases.map((p) => [p.accountId, p.phase]));
  const observations: AccountObservation[] = [];
  for (const t of company.truth) {
    // Flagged: the score in danger after the account's first week (a new account starts with little
    // data and often low), or a risk escalation opened.
    const history = await api<{ changes: { at: string; band: string }[] }>(URLS.health, `/v1/accounts/${encodeURIComponent(t.accountId)}/health/history?from=${company.start.slice(0, 10)}&to=${company.end.slice(0, 10)}`).catch(
      () => ({ changes: [] }),
    );
    const mine = escalations.filter((e) => e.accountId === t.accountId);
    const firstScoredAt = history.changes[0] ? Date.parse(history.changes[0].at) : 0;
    const flags = [
      ...history.changes.filter((c) => c.band === 'danger' && Date.parse(c.at) >= firstScoredAt + 7 * 86_400_000).map((c) => c.at),
      ...mine.filter((e) => e.reason !== 'expansion-signal').map((e) => e.openedAt),
    ].sort();
    observations.push({
      accountId: t.accountId,
      band: bandOf.get(t.accountId) ?? null,
      phase: phaseOf.get(t.accountId) ?? null,
      flaggedAt: flags[0] ?? null,
      escalations: mine.map((e) => ({ reason: e.reason, assigneeCsmId: e.assignee?.csmId ?? null, openedAt: e.openedAt })),
    });
  }
  return { observations, escalations };
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
      ...(lead && args.webhookUrl ? { webhooks: [{ id: 'demo-sink', url: args.webhookUrl }] } : {}),
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
  const wait = args.realStartMs - Date.now();
  if (wait > 0) say(`the simulated clock starts in ${(wait / 1000).toFixed(0)} s; ${args.days} days will take ${(args.compressMs / 1000).toFixed(0)} s`);
  const tty = process.stdout.isTTY;
  let lastLine = 0;
  const summary = await driveStream(stream, {
    ingestionUrl: URLS.ingestion,
    writeKey: source.writeKey,
    window: { start: company.start, end: company.end },
    compressMs: args.compressMs,
    realStartMs: args.realStartMs,
    onProgress: (p: DriveProgress) => {
      if (tty) process.stdout.write(`\r${formatProgress(p)}\x1b[K`);
      else if (Date.now() - lastLine > 10_000) {
        lastLine = Date.now();
        process.stdout.write(`${formatProgress(p)}\n`);
      }
    },
  });
  if (tty) process.stdout.write('\n');
  say(`sent ${summary.total.toLocaleString('en-US')} messages in ${(summary.elapsedMs / 1000).toFixed(0)} s, ${summary.rejected} rejected; waiting for the pipeline to drain...`);
  const settled = await drained(120_000);
  if (!settled) say('\x1b[33mthe pipeline has not fully drained after 120 s; the figures below are what it holds now\x1b[0m');

  const { observations, escalations } = await observe(company);
  const evaluation = evaluateAgainstTruth(company, observations);
  const kpis = await api<Record<string, { value: unknown }> & { accounts: number }>(
    URLS.lifecycle,
    // From the second day: established accounts appear on the first one, and revenue is compared with
    // what accounts had just before the period.
    `/v1/kpis?from=${encodeURIComponent(new Date(Date.parse(company.start) + 86_400_000).toISOString())}&to=${encodeURIComponent(company.end)}`,
  );
  const mail = mailRecipients(args.mailDir);
  const hooks = filesIn(args.webhookDir).length;
  const nameOf = new Map(company.csms.map((c) => [c.email, c.name]));

  const lines: string[] = [];
  const out = (l = '') => lines.push(l);
  out('');
  out(`Kizuna demo: ${company.accounts.length} accounts, ${args.days} simulated days (seed ${args.seed})`);
  out('─'.repeat(78));
  out(`Health bands:   ${count(observations.filter((o) => o.band), (o) => o.band ?? '').map(([k, n]) => `${k} ${n}`).join(' · ')}`);
  out(`Phases:         ${count(observations.filter((o) => o.phase), (o) => o.phase ?? '').map(([k, n]) => `${k} ${n}`).join(' · ')}`);
  out(`Escalations:    ${escalations.length} (${count(escalations, (e) => e.reason).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  for (const [who, n] of count(escalations, (e) => e.assignee?.name ?? '(unassigned)').slice(0, 8)) out(`                ${String(n).padStart(3)} to ${who}`);
  out(`Notifications:  ${[...mail.values()].reduce((a, b) => a + b, 0)} e-mails captured by the local SMTP sink, ${hooks} signed webhooks by the webhook sink`);
  for (const [to, n] of [...mail.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)) out(`                ${String(n).padStart(3)} to ${nameOf.get(to) ?? 'a customer contact'}`);
  const k = (key: string) => (kpis[key]?.value as number | null | undefined) ?? null;
  out(`KPIs (window):  NRR ${pct(k('netRevenueRetention'))} · GRR ${pct(k('grossRevenueRetention'))} · logo churn ${pct(k('logoChurnRate'))} · onboarding completion ${pct(k('onboardingCompletionRate'))} · NPS ${k('netPromoterScore') === null ? 'n/a' : Number(k('netPromoterScore')).toFixed(1)}`);
  out(`At risk:        ${evaluation.atRisk.flagged} of ${evaluation.atRisk.scripted} scripted at-risk accounts flagged (danger after their first week, or a risk escalation); ${evaluation.churn.flaggedBeforeChurn} of ${evaluation.churn.churned} churned accounts flagged before they churned`);
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
  if (args.summaryOut) writeFileSync(args.summaryOut, `${JSON.stringify({ evaluation, escalations: escalations.length, mail: Object.fromEntries(mail), webhooks: hooks, kpis }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  say(`\x1b[31m${(e as Error).message}\x1b[0m`);
  process.exit(1);
});
