import { ContractSize } from '@kizuna/shared/contracts';
import { BASELINE_TICKET_CATEGORIES, CALL_QUEUES, MILESTONES, NPS_COMMENTS, PAGES, REGION_INFO, TICKET_TOPICS, USAGE_EVENTS } from './catalog';
import { DAY_MS, FIRST_REPORT_DUE_DAYS, type ScriptedAccount, type ScriptedCompany } from './company';
import type { CallBody, SegmentCall, SimMessage, SimUser, SubscriptionBody, SurveyBody, TicketBody, ZendeskWebhookBody } from './model';
import { Prng } from './prng';

export interface StreamOptions {
  /** Scales the number of product events per session (1 = default). */
  activity?: number;
  /** Share of tickets that arrive as signed Zendesk webhooks instead of the generic ticket API (0 = none, the default). */
  zendeskShare?: number;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
const BASE_ACTIVE: Record<ContractSize, number> = { [ContractSize.Enterprise]: 0.55, [ContractSize.Smb]: 0.6, [ContractSize.Freemium]: 0.7 };
/** Baseline support tickets per account and week. */
const TICKETS_PER_WEEK: Record<ContractSize, number> = { [ContractSize.Enterprise]: 0.5, [ContractSize.Smb]: 0.15, [ContractSize.Freemium]: 0.05 };
const iso = (ms: number) => new Date(ms).toISOString();
const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The company's history as the time-ordered stream of what ingestion receives: Segment calls
 * (identify, group, track, page), help-desk tickets (each version), call records, survey answers
 * and subscription changes. Deterministic: the same company gives the same stream.
 * Established accounts open with an import of their history (their group traits, their users,
 * their onboarding milestones and subscription start, with the original dates) on day 0.
 */
export function generateStream(company: ScriptedCompany, options: StreamOptions = {}): SimMessage[] {
  const activity = options.activity ?? 1;
  if (!(activity > 0)) throw new Error('activity: must be > 0');
  const root = new Prng(company.seed).fork('stream');
  const zendeskShare = options.zendeskShare ?? 0;
  if (!(zendeskShare >= 0 && zendeskShare <= 1)) throw new Error('zendeskShare: must be between 0 and 1');
  const all = company.accounts.flatMap((a) => new AccountHistory(company, a, root.fork(a.id), activity, zendeskShare).generate());
  const end = Date.parse(company.end);
  // Stable sort: ties keep the per-account order in which they were written.
  return all.filter((m) => Date.parse(m.at) < end).sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}

/** One account's scripted history. */
class AccountHistory {
  private readonly out: SimMessage[] = [];
  private seq = 0;
  private tickets = 0;
  private calls = 0;
  private surveys = 0;
  private changes = 0;
  private readonly start: number;
  private readonly ticketDays: { day: number; category: string }[] = [];
  private seats: number;
  private arr: number;
  private plan: string;
  private renewalDate: string;
  private readonly zendeskRng: Prng;

  constructor(
    private readonly company: ScriptedCompany,
    private readonly a: ScriptedAccount,
    private readonly rng: Prng,
    private readonly activity: number,
    private readonly zendeskShare: number,
  ) {
    this.start = Date.parse(company.start);
    this.seats = a.seatsPurchased;
    this.arr = a.arr;
    this.plan = a.plan;
    this.renewalDate = a.renewalDate;
    this.zendeskRng = rng.fork('zendesk');
  }

  generate(): SimMessage[] {
    const { a, company } = this;
    const s = a.script;
    this.opening();
    for (let d = a.startDay; d < company.days; d++) {
      this.dailyUsage(d);
      this.baselineSupport(d);
      if (d === s.renewDay) this.renew(d);
      if (d === s.convertDay) this.convertTrial(d);
      if (d === s.limitDay) this.seatLimit(d);
      if (d === s.upgradeDay) this.upgradeSeats(d);
      if (d === s.burstDay) this.repeatTickets(d);
      if (d === s.stallTicketDay) this.stalledOnboardingTicket(d);
      if (d === s.cancelNoticeDay) this.cancel(d);
      if (d === s.reactivateDay) this.reactivate(d);
      if (a.persona === 'outage-detractor' && d === company.outageDay) this.outageContact(d);
      if (d === s.npsDay) this.detractorAnswer(d);
      if (d === s.followUpDay) {
        this.ticket(d, this.at(d), {
          category: 'outage', subject: 'Our reports are still incomplete since the outage. When will the data be restored?', tags: ['outage', 'data'],
          requester: this.admin(), priority: 'high', satisfaction: 2, solveAfterHours: 50,
        });
      }
      if (d === s.downgradeDay) this.downgrade(d, 0.7);
      if (d === this.npsWaveDay()) this.npsWave(d);
      if (a.persona === 'slowly-disengaging' && a.size === ContractSize.Freemium && d === s.churnDay) this.trialLapses(d);
      if (a.persona === 'slowly-disengaging' && a.size !== ContractSize.Freemium && s.fadeEndDay !== undefined && d === s.fadeEndDay - 2) {
        this.ticket(d, this.at(d), { category: 'data-export', subject: 'How do we export all our reports and dashboards?', tags: ['export'], requester: this.admin() });
      }
      if (a.persona === 'cancel-reactivate' && s.cancelNoticeDay !== undefined && d === s.cancelNoticeDay - 1) {
        this.ticket(d, this.at(d), { category: 'account', subject: 'How do we export our data and cancel at the end of the term?', tags: ['cancellation', 'export'], requester: this.admin() });
      }
    }
    return this.out;
  }

  // ---- Time --------------------------------------------------------------------------------

  private dayStart(d: number): number {
    return this.start + d * DAY_MS;
  }

  /** A moment during the account's working hours on day d (ms). */
  private at(d: number, notBefore = 0): number {
    const r = REGION_INFO[this.a.region];
    const t = this.dayStart(d) + r.workStartUtc * HOUR + Math.floor(this.rng.between(0, (r.workEndUtc - r.workStartUtc) * HOUR));
    return Math.max(t, notBefore);
  }

  private isWeekend(d: number): boolean {
    const wd = new Date(this.dayStart(d)).getUTCDay();
    return wd === 0 || wd === 6;
  }

  /** The persona's engagement on day d, 0..~1.2 (multiplies each user's chance to show up). */
  private engagement(d: number): number {
    const s = this.a.script;
    const lin = (from: number, to: number, v0: number, v1: number) => (to <= from ? v1 : v0 + (v1 - v0) * Math.min(1, Math.max(0, (d - from) / (to - from))));
    const outage = d === this.company.outageDay ? 0.5 : 1;
    switch (this.a.persona) {
      case 'healthy-growing':
        return (0.85 + (0.25 * (d - this.a.startDay)) / this.company.days) * outage;
      case 'slowly-disengaging':
        if (s.churnDay !== undefined && d >= s.churnDay) return 0;
        if (d < (s.riskDay ?? 0)) return outage;
        if (d <= (s.fadeEndDay ?? 0)) return lin(s.riskDay ?? 0, s.fadeEndDay ?? 0, 1, 0.05) * outage;
        return 0.02;
      case 'onboarding-stalled':
        return d - this.a.startDay < 5 ? 0.9 : lin(this.a.startDay + 5, (s.riskDay ?? 0) + 10, 0.35, 0.04);
      case 'support-heavy':
        return 0.9 * outage;
      case 'seat-limit':
        return (d >= (s.upgradeDay ?? Infinity) ? 1.1 : 1) * outage;
      case 'outage-detractor':
        if (d < this.company.outageDay) return 1;
        return d === this.company.outageDay ? 0.1 : lin(this.company.outageDay + 1, this.company.days - 1, 0.5, 0.15);
      case 'cancel-reactivate':
        if (d >= (s.reactivateDay ?? Infinity)) return 0.75;
        if (d >= (s.churnDay ?? Infinity)) return 0;
        if (d < (s.riskDay ?? 0)) return 0.8 * outage;
        if (d <= (s.fadeEndDay ?? 0)) return lin(s.riskDay ?? 0, s.fadeEndDay ?? 0, 0.8, 0.05);
        return 0.02;
    }
  }

  // ---- Writers -----------------------------------------------------------------------------

  private segment(at: number, call: Omit<SegmentCall, 'messageId' | 'timestamp'>, timestamp = at): void {
    const body: SegmentCall = {
      ...call,
      messageId: `s${this.company.seed}-${this.a.id}-${String(++this.seq).padStart(6, '0')}`,
      timestamp: iso(timestamp),
    };
    this.out.push({ kind: 'segment', at: iso(at), accountId: this.a.id, body });
  }

  private track(at: number, user: SimUser, event: string, properties: Record<string, unknown> = {}, timestamp = at): void {
    this.segment(at, { type: 'track', userId: user.id, event, properties, context: { groupId: this.a.id } }, timestamp);
  }

  private identify(at: number, user: SimUser): void {
    const [firstName, ...rest] = user.name.split(' ');
    this.segment(at, {
      type: 'identify', userId: user.id, context: { groupId: this.a.id },
      traits: { email: user.email, name: user.name, firstName, lastName: rest.join(' '), title: user.title, role: user.role, createdAt: iso(this.start + Math.max(user.joinDay, -30) * DAY_MS) },
    });
  }

  private group(at: number): void {
    const a = this.a;
    const owner = this.company.csms.find((c) => c.id === a.ownerCsmId);
    this.segment(at, {
      type: 'group', userId: a.adminUserId, groupId: a.id,
      traits: {
        name: a.name, industry: a.industry, region: a.region, plan: this.plan, seatsPurchased: this.seats, arr: this.arr, mrr: round2(this.arr / 12),
        contractStart: a.contractStart, renewalDate: this.renewalDate, employees: a.employees, domain: a.domain, website: `https://www.${a.domain}`,
        ...(owner ? { ownerCsmEmail: owner.email } : {}),
      },
    });
  }

  private subscription(at: number, change: SubscriptionBody['change'], effectiveAt: number, term?: { start: number; end: number }): void {
    const body: SubscriptionBody = {
      changeId: `${this.a.id}-ch${String(++this.changes).padStart(3, '0')}`,
      accountId: this.a.id,
      subscriptionId: this.a.subscriptionId,
      change,
      plan: this.plan,
      seats: this.seats,
      arr: this.arr,
      mrr: round2(this.arr / 12),
      currency: this.a.currency,
      effectiveAt: iso(effectiveAt),
      ...(term ? { termStart: iso(term.start), termEnd: iso(term.end) } : {}),
    };
    this.out.push({ kind: 'subscription', at: iso(at), accountId: this.a.id, body });
  }

  private admin(): SimUser {
    return this.a.users[0] as SimUser;
  }

  private members(d: number): SimUser[] {
    return this.a.users.filter((u) => u.joinDay <= d);
  }

  // ---- The opening: the account appears ----------------------------------------------------

  private opening(): void {
    const a = this.a;
    const admin = this.admin();
    if (!a.isNew) {
      // Day 0: the import of an established customer (traits, people, milestones and subscription with their dates).
      let t = this.start + this.rng.int(0, 50) * MINUTE;
      const tick = () => (t += 1000);
      this.group(tick());
      for (const u of a.users.filter((x) => x.joinDay <= 0)) this.identify(tick(), u);
      const began = Date.parse(a.contractStart);
      const firstMember = a.users.find((u) => u.role === 'member' && u.joinDay <= 0) ?? admin;
      this.track(tick(), admin, MILESTONES[0], { workspaceId: `${a.id}-ws` }, began + HOUR);
      this.track(tick(), admin, MILESTONES[1], { invitedUserId: firstMember.id, role: 'member' }, began + 2 * DAY_MS);
      this.track(tick(), firstMember, MILESTONES[2], { reportId: `${a.id}-r1` }, began + 5 * DAY_MS);
      // And the last days' usage: an established customer is in use when Kizuna starts to see it (without
      // it, the account's only known activity would be its onboarding years ago: a dormant account).
      for (const u of a.users.filter((x) => x.joinDay <= 0)) {
        if (!this.rng.chance(Math.min(0.95, 0.5 + u.propensity / 2))) continue;
        const daysAgo = this.rng.int(1, 3);
        this.track(tick(), u, this.rng.weighted(USAGE_EVENTS), {}, this.at(-daysAgo));
      }
      const renewal = Date.parse(this.renewalDate);
      this.subscription(tick(), 'started', began, { start: Math.max(began, renewal - 365 * DAY_MS), end: renewal });
      return;
    }
    // A new customer (or trial) signs up inside the window and onboards.
    const d = a.startDay;
    const t0 = this.at(d);
    this.group(t0);
    this.identify(t0 + MINUTE, admin);
    this.subscription(t0 + 2 * MINUTE, 'started', t0, { start: t0, end: Date.parse(this.renewalDate) });
    this.track(t0 + 5 * MINUTE, admin, MILESTONES[0], { workspaceId: `${a.id}-ws` });
    if (a.persona !== 'onboarding-stalled') {
      const due = FIRST_REPORT_DUE_DAYS[a.size];
      const sharer = a.users.find((u) => u.role === 'member' && u.joinDay < this.company.days);
      const day = Math.max(...a.users.filter((u) => u.role === 'member').slice(0, 3).map((u) => u.joinDay), d) + this.rng.int(1, Math.max(1, Math.floor(due / 3)));
      if (sharer && day < this.company.days) this.pendingFirstShare = { day, user: sharer };
    }
  }

  private pendingFirstShare: { day: number; user: SimUser } | undefined;

  // ---- Everyday usage ----------------------------------------------------------------------

  private dailyUsage(d: number): void {
    const a = this.a;
    const admin = this.admin();
    // People who join today: the admin invites them, then they identify.
    for (const u of a.users) {
      if (u.joinDay !== d || u.role === 'admin' || d < 0 || (!a.isNew && d === 0 && u.joinDay <= 0)) continue;
      const t = this.at(d);
      this.track(t, admin, MILESTONES[1], { invitedUserId: u.id, role: 'member' });
      this.identify(t + 2 * MINUTE, u);
      this.joinedAt.set(u.id, t + 3 * MINUTE);
    }
    if (this.pendingFirstShare?.day === d) {
      const { user } = this.pendingFirstShare;
      this.track(this.at(d, this.joinedAt.get(user.id) ?? 0), user, MILESTONES[2], { reportId: `${a.id}-r1` });
      this.pendingFirstShare = undefined;
    }
    const engagement = this.engagement(d);
    if (engagement <= 0) return;
    const weekday = this.isWeekend(d) ? 0.12 : 1;
    for (const u of this.members(d)) {
      const p = Math.min(0.97, BASE_ACTIVE[a.size] * u.propensity * engagement * weekday);
      if (!this.rng.chance(p)) continue;
      let t = this.at(d, (this.joinedAt.get(u.id) ?? 0) + MINUTE);
      if (this.rng.chance(0.35 * Math.min(1, this.activity))) {
        this.segment(t, { type: 'page', userId: u.id, name: this.rng.pick(PAGES), context: { groupId: a.id } });
        t += this.rng.int(1, 5) * MINUTE;
      }
      const n = 1 + this.rng.poisson(0.7 * this.activity);
      for (let i = 0; i < n; i++) {
        const event = this.rng.weighted(USAGE_EVENTS);
        this.track(t, u, event, this.usageProperties(event));
        t += this.rng.int(1, 20) * MINUTE;
      }
    }
  }

  private readonly joinedAt = new Map<string, number>();

  private usageProperties(event: string): Record<string, unknown> {
    switch (event) {
      case 'Report Created':
      case 'Report Shared':
        return { reportId: `${this.a.id}-r${this.rng.int(1, 40)}` };
      case 'Dashboard Viewed':
        return { dashboardId: `${this.a.id}-d${this.rng.int(1, 12)}` };
      case 'Integration Connected':
        return { integration: this.rng.pick(['salesforce', 'hubspot', 'slack', 'bigquery', 'snowflake']) };
      case 'Search Performed':
        return { resultCount: this.rng.int(0, 60) };
      default:
        return {};
    }
  }

  // ---- Support -----------------------------------------------------------------------------

  /** Whether the account would talk to support today (not while churned). */
  private reachable(d: number): boolean {
    const s = this.a.script;
    if (s.churnDay !== undefined && d >= s.churnDay && !(s.reactivateDay !== undefined && d >= s.reactivateDay)) return false;
    return true;
  }

  private baselineSupport(d: number): void {
    if (!this.reachable(d) || this.isWeekend(d)) return;
    const a = this.a;
    if (this.rng.chance(TICKETS_PER_WEEK[a.size] / 5)) {
      // Never a third ticket of one category within 14 days: that is the support-heavy persona's signature.
      const recent = (c: string) => this.ticketDays.filter((x) => x.category === c && d - x.day < 14).length;
      const categories = BASELINE_TICKET_CATEGORIES.filter((c) => recent(c) < 2 && c !== a.script.burstCategory);
      if (categories.length > 0) {
        const category = this.rng.pick(categories);
        const topic = TICKET_TOPICS[category] as { subjects: string[]; tags: string[] };
        const calm = !['outage-detractor', 'slowly-disengaging', 'cancel-reactivate', 'onboarding-stalled'].includes(a.persona) || d < (a.script.riskDay ?? Infinity);
        this.ticket(d, this.at(d), {
          category, subject: this.rng.pick(topic.subjects), tags: topic.tags, requester: this.rng.pick(this.members(d)),
          satisfaction: calm ? this.rng.int(4, 5) : this.rng.int(3, 4), csatSurvey: this.rng.chance(0.25),
        });
      }
    }
    if (a.size !== ContractSize.Freemium && this.rng.chance(TICKETS_PER_WEEK[a.size] / 15)) {
      const category = this.rng.pick(BASELINE_TICKET_CATEGORIES.filter((c) => c !== a.script.burstCategory));
      this.call(d, this.at(d), { reasonCode: category, sentiment: round2(this.rng.between(0.1, 0.8)), disposition: 'resolved', caller: this.rng.pick(this.members(d)) });
    }
  }

  private ticket(
    d: number,
    createdAt: number,
    t: { category: string; subject: string; tags: string[]; requester: SimUser; priority?: TicketBody['priority']; channel?: TicketBody['channel'];
      satisfaction?: number; solveAfterHours?: number; reopen?: boolean; csatSurvey?: boolean },
  ): void {
    const a = this.a;
    this.ticketDays.push({ day: d, category: t.category });
    const id = `${a.id}-T${String(++this.tickets).padStart(4, '0')}`;
    // Most help desks know the organization (external id = account id); some only the requester's e-mail.
    const who = this.rng.chance(0.7) ? { organizationExternalId: a.id, requesterEmail: t.requester.email } : { requesterEmail: t.requester.email };
    const base: TicketBody = {
      id, ...who,
      channel: t.channel ?? this.rng.weighted<TicketBody['channel']>({ email: 5, web: 3, chat: 2 }),
      category: t.category, tags: t.tags, priority: t.priority ?? this.rng.weighted<TicketBody['priority']>({ low: 2, normal: 6, high: 1 }),
      subject: t.subject, status: 'new', createdAt: iso(createdAt), updatedAt: iso(createdAt),
    };
    // Some tickets come from Zendesk's webhooks, decided on a stream of their own: the rest of the history is unchanged.
    const viaZendesk = this.zendeskShare > 0 && this.zendeskRng.chance(this.zendeskShare);
    this.zendeskTickets.set(id, viaZendesk ? 1 : 0);
    this.pushTicket(base);
    const solvedAt = createdAt + (t.solveAfterHours ?? this.rng.between(2, 40)) * HOUR;
    if (t.reopen) {
      const reopenedAt = solvedAt + this.rng.between(6, 30) * HOUR;
      this.ticketVersion(base, { status: 'solved', updatedAt: iso(solvedAt) });
      this.ticketVersion(base, { status: 'open', reopenedCount: 1, priority: 'high', updatedAt: iso(reopenedAt) });
      const finalAt = reopenedAt + this.rng.between(10, 40) * HOUR;
      this.ticketVersion(base, { status: 'solved', reopenedCount: 1, priority: 'high', updatedAt: iso(finalAt), ...(t.satisfaction ? { satisfaction: t.satisfaction } : {}) });
      return;
    }
    this.ticketVersion(base, { status: 'solved', updatedAt: iso(solvedAt), ...(t.satisfaction ? { satisfaction: t.satisfaction } : {}) });
    if (t.csatSurvey && t.satisfaction) {
      this.survey(solvedAt + HOUR, { kind: 'csat', score: t.satisfaction, respondent: t.requester });
    }
  }

  private ticketVersion(base: TicketBody, change: Partial<TicketBody>): void {
    this.pushTicket({ ...base, ...change });
  }

  /** Ticket id -> 0 (generic ticket API) or the number of Zendesk events sent so far. */
  private readonly zendeskTickets = new Map<string, number>();

  private pushTicket(body: TicketBody): void {
    const events = this.zendeskTickets.get(body.id) ?? 0;
    if (events === 0) {
      this.out.push({ kind: 'ticket', at: body.updatedAt, accountId: this.a.id, body });
      return;
    }
    this.zendeskTickets.set(body.id, events + 1);
    this.out.push({ kind: 'zendesk', at: body.updatedAt, accountId: this.a.id, body: zendeskEvent(body, events) });
  }

  private call(
    _d: number,
    startedAt: number,
    c: { reasonCode: string; sentiment: number; disposition: string; caller: SimUser; transfers?: number; holdSeconds?: number; callbackRequested?: boolean; queue?: string },
  ): void {
    const a = this.a;
    const talk = this.rng.int(120, 1500);
    const hold = c.holdSeconds ?? this.rng.int(0, 120);
    const endedAt = startedAt + (talk + hold) * 1000;
    // Some telephony systems know the account; others only the caller's e-mail from the IVR/CRM lookup.
    const who = this.rng.chance(0.5) ? { accountId: a.id } : { callerEmail: c.caller.email };
    const body: CallBody = {
      contactId: `${a.id}-C${String(++this.calls).padStart(4, '0')}`,
      ...who,
      callerNumber: `${REGION_INFO[a.region].phonePrefix} ${this.rng.int(1000000, 9999999)}`,
      queue: c.queue ?? this.rng.pick(CALL_QUEUES),
      agentId: `agent-${String(this.rng.int(1, 24)).padStart(2, '0')}`,
      startedAt: iso(startedAt), endedAt: iso(endedAt), talkSeconds: talk, holdSeconds: hold, transfers: c.transfers ?? (this.rng.chance(0.15) ? 1 : 0),
      reasonCode: c.reasonCode, disposition: c.disposition, sentiment: c.sentiment, callbackRequested: c.callbackRequested ?? false,
      lastUpdatedAt: iso(endedAt + MINUTE),
    };
    this.out.push({ kind: 'call', at: body.lastUpdatedAt, accountId: a.id, body });
  }

  private survey(at: number, s: { kind: 'nps' | 'csat'; score: number; respondent: SimUser; comment?: string }): void {
    const body: SurveyBody = {
      responseId: `${this.a.id}-R${String(++this.surveys).padStart(3, '0')}`,
      kind: s.kind, score: s.score, accountId: this.a.id, respondentEmail: s.respondent.email, userId: s.respondent.id, answeredAt: iso(at),
      ...(s.comment ? { comment: s.comment } : {}),
    };
    this.out.push({ kind: 'survey', at: body.answeredAt, accountId: this.a.id, body });
  }

  // ---- Persona moments ---------------------------------------------------------------------

  private repeatTickets(d: number): void {
    const s = this.a.script;
    const category = s.burstCategory as string;
    const topic = TICKET_TOPICS[category] as { subjects: string[]; tags: string[] };
    let day = d;
    for (let i = 0; i < (s.burstCount ?? 3); i++) {
      if (i > 0) day += this.rng.int(1, 3); // 3 to 5 tickets within at most 12 days
      const people = this.members(day);
      this.ticket(day, this.at(day), {
        category, tags: topic.tags, requester: this.rng.pick(people),
        subject: i === 0 ? this.rng.pick(topic.subjects) : `${this.rng.pick(topic.subjects)} (again)`,
        priority: i >= 2 ? 'high' : 'normal', satisfaction: 3, reopen: i === 1,
      });
      if (i === 1) {
        this.call(day, this.at(day), {
          reasonCode: category, sentiment: -0.2, disposition: 'callback', caller: this.admin(), callbackRequested: true, queue: 'technical',
        });
      }
    }
  }

  private seatLimit(d: number): void {
    const s = this.a.script;
    const admin = this.admin();
    for (const k of [0, 1, 3, 5]) {
      if (d + k >= (s.upgradeDay ?? Infinity) || d + k >= this.company.days) break;
      this.track(this.at(d + k), admin, 'Seat Limit Reached', { seatsPurchased: this.seats, seatsUsed: this.seats, attemptedInvites: this.rng.int(1, 4) });
    }
    this.ticket(d + 2, this.at(d + 2), {
      category: 'seats', subject: `We have used all ${this.seats} seats and need more: what are our options?`, tags: ['seats', 'upgrade'],
      requester: admin, solveAfterHours: Math.max(4, ((s.upgradeDay ?? d + 4) - d - 2) * 24), satisfaction: 5,
    });
  }

  private upgradeSeats(d: number): void {
    const t = this.at(d);
    const ratio = 1.5;
    this.seats = Math.round(this.seats * ratio);
    this.arr = Math.round((this.arr * ratio) / 100) * 100;
    this.subscription(t, 'upgraded', t);
    this.group(t + MINUTE);
  }

  private downgrade(d: number, ratio: number): void {
    const t = this.at(d);
    this.seats = Math.max(1, Math.round(this.seats * ratio));
    this.arr = Math.round((this.arr * ratio) / 100) * 100;
    this.subscription(t, 'downgraded', t);
    this.group(t + MINUTE);
  }

  private renew(d: number): void {
    const t = this.dayStart(d) + HOUR;
    this.renewalDate = iso(this.dayStart(d) + 365 * DAY_MS);
    this.subscription(t, 'renewed', this.dayStart(d), { start: this.dayStart(d), end: Date.parse(this.renewalDate) });
    this.group(t + MINUTE);
  }

  private convertTrial(d: number): void {
    const t = this.at(d);
    // The team that tried it buys a seat for each of its people and one to grow.
    this.plan = 'Team';
    this.seats = Math.max(3, this.members(d).length + 1);
    this.arr = this.seats * 600;
    this.renewalDate = iso(t + 365 * DAY_MS);
    this.subscription(t, 'upgraded', t, { start: t, end: Date.parse(this.renewalDate) });
    this.group(t + MINUTE);
  }

  private trialLapses(d: number): void {
    const t = this.dayStart(d);
    this.subscription(t, 'cancelled', t);
  }

  private stalledOnboardingTicket(d: number): void {
    this.ticket(d, this.at(d), {
      category: 'onboarding', subject: 'How do we get the rest of our team set up? Nobody else has access yet.', tags: ['onboarding', 'setup'],
      requester: this.admin(), priority: 'normal', solveAfterHours: 48,
    });
  }

  private cancel(d: number): void {
    const s = this.a.script;
    const t = this.at(d);
    this.subscription(t, 'cancelled', this.dayStart(s.churnDay ?? d));
  }

  private reactivate(d: number): void {
    const t = this.at(d);
    this.renewalDate = iso(t + 365 * DAY_MS);
    this.subscription(t, 'reactivated', t, { start: t, end: Date.parse(this.renewalDate) });
    this.group(t + MINUTE);
  }

  private outageContact(d: number): void {
    const admin = this.admin();
    const t = this.at(d);
    this.ticket(d, t, {
      category: 'outage', subject: 'The platform is down: none of our dashboards or reports load', tags: ['outage', 'incident'],
      requester: admin, priority: 'urgent', channel: 'email', satisfaction: 1, solveAfterHours: 30,
    });
    this.call(d, t + 20 * MINUTE, {
      reasonCode: 'outage', sentiment: -0.8, disposition: 'unresolved', caller: admin, transfers: 2, holdSeconds: 900, callbackRequested: true, queue: 'technical',
    });
  }

  private detractorAnswer(d: number): void {
    this.survey(this.at(d), { kind: 'nps', score: this.rng.int(0, 5), respondent: this.admin(), comment: this.rng.pick(NPS_COMMENTS.outage) });
  }

  /** The quarterly NPS survey, a week after the outage. */
  private npsWaveDay(): number {
    return Math.min(this.company.days - 1, this.company.outageDay + 7);
  }

  private npsWave(d: number): void {
    const a = this.a;
    if (a.size === ContractSize.Freemium || a.isNew) return;
    if (!['healthy-growing', 'seat-limit', 'support-heavy'].includes(a.persona)) return; // the others do not answer
    if (!this.rng.chance(0.6)) return;
    const promoter = a.persona !== 'support-heavy';
    const score = promoter ? this.rng.int(9, 10) : this.rng.int(7, 8);
    const comment = this.rng.chance(0.5) ? this.rng.pick(promoter ? NPS_COMMENTS.promoter : NPS_COMMENTS.passive) : undefined;
    this.survey(this.at(d), { kind: 'nps', score, respondent: this.admin(), ...(comment ? { comment } : {}) });
  }
}

const ZENDESK_CHANNEL: Record<TicketBody['channel'], string> = { email: 'email', web: 'web_form', chat: 'native_messaging', phone: 'voice' };

/** A ticket version as Zendesk's event subscription sends it (the category as the first tag). */
export function zendeskEvent(t: TicketBody, n: number): ZendeskWebhookBody {
  return {
    id: `${t.id}-ev${n}`,
    type: n === 1 ? 'zen:event-type:ticket.created' : 'zen:event-type:ticket.status_changed',
    time: t.updatedAt,
    detail: {
      id: t.id,
      status: t.status.toUpperCase(),
      priority: t.priority.toUpperCase(),
      subject: t.subject,
      tags: [t.category, ...t.tags.filter((x) => x !== t.category)],
      via: { channel: ZENDESK_CHANNEL[t.channel] },
      requester: { email: t.requesterEmail ?? '' },
      ...(t.organizationExternalId ? { organization: { external_id: t.organizationExternalId } } : {}),
      reopens: t.reopenedCount ?? 0,
      ...(t.satisfaction !== undefined ? { satisfaction_rating: { score: t.satisfaction } } : {}),
      created_at: t.createdAt,
      updated_at: t.updatedAt,
    },
  };
}

