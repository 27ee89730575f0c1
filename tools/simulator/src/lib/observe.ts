import { renameSync, writeFileSync } from 'node:fs';
import { EscalationReason } from '@kizuna/shared/contracts';
import type { AccountObservation } from './evaluate';
import type { Company } from './model';

/** Where the services answer (base URLs). */
export interface PlatformUrls {
  health: string;
  lifecycle: string;
  escalations: string;
}

/** An item of escalation-routing's `GET /v1/escalations`. */
export interface EscalationItem {
  id: string;
  accountId: string;
  reason: string;
  state: string;
  openedAt: string;
  assignee: { csmId: string; name: string } | null;
  /** Whom routing chose first (the audit's first assignment): a later SLA breach may re-route it. */
  firstAssigneeCsmId?: string | null;
}

/** One account's health change from `GET /v1/accounts/:id/health/history`. */
export interface HealthChangeItem {
  at: string;
  band: string;
  score: number | string;
}

export interface PlatformView {
  /** Current band per account (`GET /v1/health`). */
  bands: Map<string, string>;
  /** Current lifecycle phase per account (`GET /v1/accounts` of lifecycle). */
  phases: Map<string, string>;
  escalations: EscalationItem[];
  /** Every emitted health change per account, oldest first. */
  history: Map<string, HealthChangeItem[]>;
  /** Every lifecycle phase transition per account (`GET /v1/accounts/:id` of lifecycle), oldest first. */
  phaseHistories: Map<string, { to: string | null; at: string }[]>;
  observations: AccountObservation[];
}

/**
 * Escalation reasons that say "this account may churn". Repeat inquiries (support friction), an agent's
 * flag and an expansion conversation are work for a CSM, not a risk verdict.
 */
export const RISK_ESCALATION_REASONS: readonly string[] = [
  EscalationReason.UsageStalled, EscalationReason.OnboardingStalled, EscalationReason.AtRiskContact, EscalationReason.NegativeSentiment,
];

/**
 * When the platform first flagged an account at risk: the first health change into danger, the first
 * risk escalation (see RISK_ESCALATION_REASONS) or the first move into lifecycle's retention phase
 * (a risk band, a scheduled cancellation) inside the window, whichever came first; null when never.
 */
export function firstRiskFlag(
  changes: readonly HealthChangeItem[],
  escalations: readonly Pick<EscalationItem, 'reason' | 'openedAt'>[],
  phases: readonly { to: string | null; at: string }[] = [],
  windowStart = '',
): string | null {
  const flags = [
    ...changes.filter((c) => c.band === 'danger').map((c) => c.at),
    ...escalations.filter((e) => RISK_ESCALATION_REASONS.includes(e.reason)).map((e) => e.openedAt),
    ...phases.filter((p) => p.to === 'retention' && p.at >= windowStart).map((p) => p.at),
  ].sort();
  return flags[0] ?? null;
}

type Fetch = typeof fetch;

async function getJson<T>(doFetch: Fetch, base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: T }> {
  const res = await doFetch(new URL(path, base), { headers });
  const text = await res.text();
  if (!res.ok && res.status !== 404) throw new Error(`GET ${base}${path}: ${res.status} ${text.slice(0, 300)}`);
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function allPages<T>(doFetch: Fetch, base: string, path: string, headers: Record<string, string>, pageSize = 200): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const sep = path.includes('?') ? '&' : '?';
    const { body } = await getJson<{ total: number; items: T[] }>(doFetch, base, `${path}${sep}limit=${pageSize}&offset=${offset}`, headers);
    out.push(...body.items);
    if (body.items.length < pageSize || out.length >= body.total) return out;
  }
}

/**
 * Reads what the platform concluded about the company's accounts through the public APIs (a bearer
 * token with the admin role in `headers`): bands, phases, escalations and every account's health
 * changes, and turns them into observations for `evaluateAgainstTruth`.
 */
export async function observePlatform(
  company: Pick<Company, 'truth' | 'start' | 'end'>,
  urls: PlatformUrls,
  headers: Record<string, string>,
  doFetch: Fetch = fetch,
): Promise<PlatformView> {
  const health = await allPages<{ accountId: string; band: string }>(doFetch, urls.health, '/v1/health', headers);
  const phases = await allPages<{ accountId: string; phase: string }>(doFetch, urls.lifecycle, '/v1/accounts', headers);
  const escalations = await allPages<EscalationItem>(doFetch, urls.escalations, '/v1/escalations', headers);
  for (const e of escalations) {
    const { body } = await getJson<{ audit?: { action: string; detail: { csmId?: string } }[] }>(doFetch, urls.escalations, `/v1/escalations/${e.id}`, headers);
    e.firstAssigneeCsmId = body?.audit?.find((a) => a.action === 'assigned')?.detail.csmId ?? null;
  }
  const bands = new Map(health.map((h) => [h.accountId, h.band]));
  const phaseOf = new Map(phases.map((p) => [p.accountId, p.phase]));
  const history = new Map<string, HealthChangeItem[]>();
  const phaseHistories = new Map<string, { to: string | null; at: string }[]>();
  const observations: AccountObservation[] = [];
  for (const t of company.truth) {
    // The range ends a day after the window: the services' clock runs on after it.
    const to = new Date(Date.parse(company.end) + 86_400_000).toISOString().slice(0, 10);
    const { status, body } = await getJson<{ changes: HealthChangeItem[] }>(
      doFetch, urls.health, `/v1/accounts/${encodeURIComponent(t.accountId)}/health/history?from=${company.start.slice(0, 10)}&to=${to}`, headers,
    );
    const changes = status === 404 ? [] : body.changes;
    history.set(t.accountId, changes);
    const mine = escalations.filter((e) => e.accountId === t.accountId);
    const lc = await getJson<{ phase: { history: { to: string | null; at: string }[] } }>(doFetch, urls.lifecycle, `/v1/accounts/${encodeURIComponent(t.accountId)}`, headers);
    const phaseHistory = lc.status === 404 ? [] : lc.body.phase.history;
    phaseHistories.set(t.accountId, phaseHistory);
    observations.push({
      accountId: t.accountId,
      band: bands.get(t.accountId) ?? null,
      phase: phaseOf.get(t.accountId) ?? null,
      flaggedAt: firstRiskFlag(changes, mine, phaseHistory, company.start),
      escalations: mine.map((e) => ({ reason: e.reason, assigneeCsmId: e.firstAssigneeCsmId ?? e.assignee?.csmId ?? null, openedAt: e.openedAt })),
    });
  }
  return { bands, phases: phaseOf, escalations, history, phaseHistories, observations };
}

/**
 * What the pipeline still holds: consumer lag, outbox backlog and periodic work owed for a closed
 * step of a stepped clock (`kizuna_clock_steps_pending`), summed over the services' `/metrics` (0
 * when everything sent has been processed and published). A service that does not answer counts as
 * holding work, and so does one whose clock (`kizuna_clock_now`) reads before `clockAtLeast` (it has
 * not seen the player's last move yet).
 */
export async function pipelinePending(
  baseUrls: readonly string[],
  headers: Record<string, string> = {},
  doFetch: Fetch = fetch,
  { clockAtLeast }: { clockAtLeast?: number } = {},
): Promise<number> {
  // Every service at once: a reading is as close to one instant as the scrapes allow.
  const texts = await Promise.all(baseUrls.map((base) => doFetch(new URL('/metrics', base), { headers }).then((r) => (r.ok ? r.text() : null)).catch(() => null)));
  let sum = 0;
  for (const text of texts) {
    if (text === null) return Number.POSITIVE_INFINITY;
    let clock: number | undefined;
    for (const line of text.split('\n')) {
      const value = () => Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      if (/^kizuna_(consumer_lag|outbox_backlog|clock_steps_pending)[{ ]/.test(line)) sum += value();
      else if (/^kizuna_clock_now[{ ]/.test(line)) clock = value();
    }
    if (clockAtLeast !== undefined && !(clock !== undefined && clock >= clockAtLeast)) sum += 1;
  }
  return sum;
}

/**
 * Moves the services' clock (their KIZUNA_CLOCK_START_FILE, read by FileDrivenClock): from now on it
 * reads `simulated` and runs `rate` times real speed (0 holds it there); `step`, when given, is the
 * count of steps the player has closed (the services' periodic tasks run once per new step). Written
 * atomically.
 */
export function writeClock(file: string, simulated: string, { rate = 0, step, realNowMs = Date.now() }: { rate?: number; step?: number; realNowMs?: number } = {}): void {
  writeFileSync(`${file}.tmp`, `${Date.parse(simulated)} ${realNowMs} ${rate}${step === undefined ? '' : ` ${step}`}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * Waits until the services hold nothing (see pipelinePending) on `quiet` readings in a row,
 * `intervalMs` apart (a service reuses a lag reading for KAFKA_LAG_CACHE_MS: keep the interval above
 * it). Returns false after `timeoutMs`.
 */
export async function waitUntilDrained(
  baseUrls: readonly string[],
  headers: Record<string, string> = {},
  { timeoutMs = 120_000, quiet = 2, intervalMs = 1050, clockAtLeast }: { timeoutMs?: number; quiet?: number; intervalMs?: number; clockAtLeast?: number } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  for (;;) {
    zeros = (await pipelinePending(baseUrls, headers, fetch, { clockAtLeast })) === 0 ? zeros + 1 : 0;
    if (zeros >= quiet) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The driver hooks (see DriveOptions.stepMs) for services on a FileDrivenClock whose file is
 * `clockFile`, started with KAFKA_LAG_CACHE_MS=0: each step moves their clock to the step's end and
 * waits until every service reads it (onStep); each settle waits until they hold nothing (lag, outbox, owed
 * periodic work); closing a step lets their sweeps and ticks run once, at the step's end.
 */
export function steppedPlay(clockFile: string, baseUrls: readonly string[], headers: Record<string, string>, { timeoutMs = 300_000 } = {}) {
  let at = '';
  let closed = 0;
  return {
    onStep: async (end: string) => {
      at = end;
      writeClock(clockFile, end, { step: closed });
      // The previous step left nothing pending: one reading with every clock moved is enough.
      const ok = await waitUntilDrained(baseUrls, headers, { timeoutMs, quiet: 1, intervalMs: 50, clockAtLeast: Date.parse(end) });
      if (!ok) throw new Error(`the services did not read the clock at ${end} within ${timeoutMs / 1000} s`);
    },
    onStepClosed: async (end: string, stepsClosed: number) => {
      closed = stepsClosed;
      writeClock(clockFile, end, { step: closed });
    },
    settle: async () => {
      const ok = await waitUntilDrained(baseUrls, headers, { timeoutMs, intervalMs: 100, clockAtLeast: at ? Date.parse(at) : undefined });
      if (!ok) throw new Error(`the services did not settle within ${timeoutMs / 1000} s at ${at}`);
    },
  };
}
