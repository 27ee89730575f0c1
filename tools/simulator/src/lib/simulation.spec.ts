import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ContractSize } from '@kizuna/shared/contracts';
import {
  checkMessageSize, domainsFromTraits, explicitAccountId, matchAccount, normaliseDomain, validateSegmentMessage, zendeskTicket, type AccountDirectory,
} from '@kizuna/ingestion/domain';
import { CallDto, SubscriptionDto, SurveyDto, TicketDto } from '@kizuna/ingestion/feature';
import { DAY_MS, isoDay } from './company';
import { PERSONAS, type SimMessage, type TicketBody } from './model';
import { Prng } from './prng';
import { simulate, streamHash } from './simulation';

const START = '2026-03-02';
const big = simulate({ seed: 7, accounts: 70, days: 90, start: START });
const { company, stream } = big;
const dayOf = (iso: string) => Math.floor((Date.parse(iso) - Date.parse(company.start)) / DAY_MS);
const ofAccount = (id: string) => stream.filter((m) => m.accountId === id);
const accountsOf = (persona: string) => company.accounts.filter((a) => a.persona === persona);
const tracks = (ms: SimMessage[], event?: string) =>
  ms.flatMap((m) => (m.kind === 'segment' && m.body.type === 'track' && (!event || m.body.event === event) ? [m.body] : []));
/** Ticket ids with their first version (creation). */
const ticketsCreated = (ms: SimMessage[]): TicketBody[] => {
  const seen = new Map<string, TicketBody>();
  for (const m of ms) if (m.kind === 'ticket' && !seen.has(m.body.id)) seen.set(m.body.id, m.body);
  return [...seen.values()];
};
/** The largest number of tickets of one category created within any 14-day window. */
const maxSameCategoryIn14Days = (tickets: TicketBody[]) => {
  let best = 0;
  for (const t of tickets) {
    const from = Date.parse(t.createdAt);
    best = Math.max(best, tickets.filter((x) => x.category === t.category && Date.parse(x.createdAt) >= from && Date.parse(x.createdAt) - from < 14 * DAY_MS).length);
  }
  return best;
};

describe('simulator: the generated company', () => {
  it('is deterministic: the same seed gives the identical stream, another seed a different one', () => {
    const a = simulate({ seed: 42, accounts: 30, days: 60, start: START });
    const b = simulate({ seed: 42, accounts: 30, days: 60, start: START });
    const c = simulate({ seed: 43, accounts: 30, days: 60, start: START });
    expect(a.stream.length).toBeGreaterThan(1000);
    expect(streamHash(a.stream)).toBe(streamHash(b.stream));
    expect(JSON.stringify(a.company)).toBe(JSON.stringify(b.company));
    expect(streamHash(c.stream)).not.toBe(streamHash(a.stream));
  });

  it('uses its own seeded generator, never Math.random', () => {
    const spy = jest.spyOn(Math, 'random');
    simulate({ seed: 1, accounts: 10, days: 20, start: START });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    const r = new Prng(5);
    const xs = Array.from({ length: 1000 }, () => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(new Set(xs).size).toBe(1000);
  });

  it('has every persona, contract size and region, and a ground truth per account', () => {
    expect(new Set(company.accounts.map((a) => a.persona))).toEqual(new Set(PERSONAS));
    expect(new Set(company.accounts.map((a) => a.size))).toEqual(new Set(Object.values(ContractSize)));
    expect(new Set(company.accounts.map((a) => a.region))).toEqual(new Set(['amer', 'emea', 'apac']));
    expect(company.truth.map((t) => t.accountId)).toEqual(company.accounts.map((a) => a.id));
    expect(new Set(company.accounts.map((a) => a.id)).size).toBe(company.accounts.length);
    for (const a of company.accounts) {
      expect(a.users[0]).toMatchObject({ role: 'admin', id: a.adminUserId });
      expect(a.users.every((u) => u.email.endsWith(`@${a.domain}`))).toBe(true);
    }
  });

  it('has a CS team: regional teams with a lead, every specialty, and an owner CSM of the same region for every paid account', () => {
    const byId = new Map(company.csms.map((c) => [c.id, c]));
    for (const t of company.teams) {
      expect(t.memberIds).toContain(t.leadCsmId);
      expect(t.memberIds.every((id) => byId.get(id)?.region === t.region)).toBe(true);
    }
    expect(new Set(company.csms.flatMap((c) => c.specialties))).toEqual(new Set(['onboarding', 'expansion', 'technical']));
    for (const a of company.accounts) {
      if (a.size === ContractSize.Freemium) expect(a.ownerCsmId).toBeNull();
      else expect(byId.get(a.ownerCsmId ?? '')?.region).toBe(a.region);
    }
    const groups = stream.filter((m) => m.kind === 'segment' && m.body.type === 'group');
    for (const g of groups) {
      const owner = byId.get(company.accounts.find((a) => a.id === g.accountId)?.ownerCsmId ?? '');
      if (owner && g.kind === 'segment') expect(g.body.traits?.['ownerCsmEmail']).toBe(owner.email);
    }
  });

  it('is time-ordered, inside the window, and its Segment calls carry the simulated time', () => {
    const unordered = stream.findIndex((m, i) => i > 0 && (stream[i - 1] as SimMessage).at > m.at);
    expect(unordered).toBe(-1);
    expect((stream[0] as SimMessage).at >= company.start).toBe(true);
    expect((stream[stream.length - 1] as SimMessage).at < company.end).toBe(true);
    const live = stream.filter((m) => m.kind === 'segment' && m.body.timestamp === m.at);
    expect(live.length).toBeGreaterThan(stream.length * 0.9);
  });

  it('passes ingestion\'s own validation: zero rejects over the whole company', () => {
    const problems: string[] = [];
    const dto = { segment: undefined, zendesk: undefined, ticket: TicketDto, call: CallDto, survey: SurveyDto, subscription: SubscriptionDto } as const;
    for (const m of stream) {
      if (m.kind === 'zendesk') continue; // none by default; see the Zendesk test
      if (m.kind === 'segment') {
        const v = validateSegmentMessage(m.body);
        if (!v.ok) problems.push(`${m.body.messageId}: ${v.reason}`);
        const tooBig = checkMessageSize(Buffer.byteLength(JSON.stringify(m.body)));
        if (tooBig) problems.push(tooBig.message);
        continue;
      }
      // What the service's global ValidationPipe does (whitelist + forbidNonWhitelisted + transform).
      const errors = validateSync(plainToInstance(dto[m.kind] as new () => object, m.body), { whitelist: true, forbidNonWhitelisted: true });
      if (errors.length) problems.push(`${m.kind} ${JSON.stringify(m.body).slice(0, 80)}: ${errors.map((e) => Object.values(e.constraints ?? {}).join(', ')).join('; ')}`);
      if (m.kind === 'survey' && m.body.kind === 'csat' && (m.body.score < 1 || m.body.score > 5)) problems.push(`csat ${m.body.responseId} out of range`);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(stream.filter((m) => m.kind !== 'segment').length).toBeGreaterThan(200);
  });

  it('attributes every message to its account the way ingestion does (explicit id, organization, e-mail domain)', () => {
    const byDomain = new Map<string, string>();
    const directory: AccountDirectory = { byDomain, byContact: new Map() };
    const wrong: string[] = [];
    for (const m of stream) {
      if (m.kind === 'segment') {
        const v = validateSegmentMessage(m.body);
        if (!v.ok) continue;
        if (explicitAccountId(v.message) !== m.accountId) wrong.push(`${m.body.messageId} -> ${explicitAccountId(v.message)}`);
        if (m.body.type === 'group') for (const d of domainsFromTraits(m.body.traits ?? {})) byDomain.set(d, m.accountId);
        continue;
      }
      const b = m.body as { accountId?: string; organizationExternalId?: string; requesterEmail?: string; callerEmail?: string; respondentEmail?: string };
      const hints = {
        ...(b.accountId ? { accountId: b.accountId } : {}),
        ...(b.organizationExternalId ? { organizationExternalId: b.organizationExternalId } : {}),
        ...(b.requesterEmail ?? b.callerEmail ?? b.respondentEmail ? { email: (b.requesterEmail ?? b.callerEmail ?? b.respondentEmail) as string } : {}),
      };
      const match = matchAccount(hints, directory);
      if (match?.accountId !== m.accountId) wrong.push(`${m.kind} for ${m.accountId} matched ${match?.accountId}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(normaliseDomain(`https://www.${company.accounts[0]?.domain}`)).toBe(company.accounts[0]?.domain);
  });

  it('support-heavy accounts open 3+ tickets of one category within 14 days; no other account ever does', () => {
    for (const a of company.accounts) {
      const n = maxSameCategoryIn14Days(ticketsCreated(ofAccount(a.id)));
      if (a.persona === 'support-heavy') expect(n).toBeGreaterThanOrEqual(3);
      else expect(n).toBeLessThan(3);
    }
    for (const a of accountsOf('support-heavy')) {
      const versions = ofAccount(a.id).filter((m): m is Extract<SimMessage, { kind: 'ticket' }> => m.kind === 'ticket' && m.body.category === a.script.burstCategory);
      expect(versions.some((v) => (v.body.reopenedCount ?? 0) > 0)).toBe(true);
    }
  });

  it('seat-limit accounts fill their seats, emit "Seat Limit Reached", then upgrade and grow', () => {
    expect(accountsOf('seat-limit').length).toBeGreaterThan(0);
    for (const a of accountsOf('seat-limit')) {
      const ms = ofAccount(a.id);
      const limit = tracks(ms, 'Seat Limit Reached');
      expect(limit.length).toBeGreaterThanOrEqual(1);
      expect(limit[0]?.properties).toMatchObject({ seatsPurchased: a.seatsPurchased, seatsUsed: a.seatsPurchased });
      const identifiedBefore = new Set(ms.filter((m) => m.kind === 'segment' && m.body.type === 'identify' && m.at <= (limit[0]?.timestamp ?? '')).map((m) => (m.kind === 'segment' ? m.body.userId : '')));
      expect(identifiedBefore.size).toBe(a.seatsPurchased);
      const upgrade = ms.find((m) => m.kind === 'subscription' && m.body.change === 'upgraded');
      expect(upgrade?.kind === 'subscription' && (upgrade.body.seats ?? 0) > a.seatsPurchased).toBe(true);
      expect(ms.some((m) => m.kind === 'ticket' && m.body.tags.includes('seats'))).toBe(true);
    }
  });

  it('outage detractors answer NPS 0-6 with a comment after the outage, after an urgent ticket and an angry call', () => {
    for (const a of accountsOf('outage-detractor')) {
      const ms = ofAccount(a.id);
      const nps = ms.flatMap((m) => (m.kind === 'survey' && m.body.kind === 'nps' ? [m.body] : []));
      expect(nps).toHaveLength(1);
      expect(nps[0]?.score).toBeLessThanOrEqual(6);
      expect(nps[0]?.comment).toBeTruthy();
      expect(dayOf(nps[0]?.answeredAt ?? '')).toBeGreaterThan(company.outageDay);
      expect(ticketsCreated(ms).some((t) => t.priority === 'urgent' && dayOf(t.createdAt) === company.outageDay)).toBe(true);
      expect(ms.some((m) => m.kind === 'call' && m.body.sentiment <= -0.5)).toBe(true);
      const down = ms.find((m) => m.kind === 'subscription' && m.body.change === 'downgraded');
      expect(down?.kind === 'subscription' && (down.body.seats ?? 0) < a.seatsPurchased).toBe(true);
    }
    // Nobody else is a detractor with a comment, rates a ticket 2 or less, or sounds angry.
    for (const a of company.accounts.filter((x) => x.persona !== 'outage-detractor')) {
      for (const m of ofAccount(a.id)) {
        if (m.kind === 'survey' && m.body.kind === 'nps') expect(m.body.score >= 7 || !m.body.comment).toBe(true);
        if (m.kind === 'ticket') expect(m.body.satisfaction === undefined || m.body.satisfaction >= 3).toBe(true);
        if (m.kind === 'call') expect(m.body.sentiment).toBeGreaterThan(-0.5);
      }
    }
  });

  it('stalled onboardings create a workspace, never invite the team, and ask support after the milestone is due', () => {
    for (const a of accountsOf('onboarding-stalled')) {
      const ms = ofAccount(a.id);
      expect(tracks(ms, 'Workspace Created')).toHaveLength(1);
      expect(tracks(ms, 'Teammate Invited')).toHaveLength(0);
      expect(tracks(ms, 'First Report Shared')).toHaveLength(0);
      const due = a.startDay + (a.size === ContractSize.Enterprise ? 14 : a.size === ContractSize.Smb ? 7 : 3);
      const help = ticketsCreated(ms).find((t) => t.category === 'onboarding');
      if (a.script.stallTicketDay !== undefined && a.script.stallTicketDay < company.days) expect(dayOf(help?.createdAt ?? '')).toBeGreaterThan(due);
    }
    // New accounts on a healthy path reach all three milestones.
    const healthyNew = company.accounts.filter((a) => a.persona === 'healthy-growing' && a.isNew && a.startDay < company.days - 40);
    expect(healthyNew.length).toBeGreaterThan(0);
    for (const a of healthyNew) {
      const names = new Set(tracks(ofAccount(a.id)).map((t) => t.event));
      for (const m of ['Workspace Created', 'Teammate Invited', 'First Report Shared']) expect(names).toContain(m);
    }
  });

  it('disengaging accounts fade out and cancel effective on their churn date', () => {
    for (const a of accountsOf('slowly-disengaging').filter((x) => x.size !== ContractSize.Freemium)) {
      const ms = ofAccount(a.id);
      const product = tracks(ms);
      const risk = a.script.riskDay ?? 0;
      const early = product.filter((t) => dayOf(t.timestamp) >= risk - 7 && dayOf(t.timestamp) < risk + 7).length;
      const late = product.filter((t) => dayOf(t.timestamp) >= (a.script.fadeEndDay ?? 0) - 14 && dayOf(t.timestamp) < (a.script.fadeEndDay ?? 0)).length;
      expect(late).toBeLessThan(early * 0.5);
      const cancel = ms.find((m) => m.kind === 'subscription' && m.body.change === 'cancelled');
      expect(cancel?.kind === 'subscription' && cancel.body.effectiveAt).toBe(company.truth.find((t) => t.accountId === a.id)?.churnDate);
      expect(product.filter((t) => dayOf(t.timestamp) >= (a.script.churnDay ?? 0))).toHaveLength(0);
    }
  });

  it('cancel-reactivate accounts go silent while churned, then reactivate and come back', () => {
    for (const a of accountsOf('cancel-reactivate')) {
      const ms = ofAccount(a.id);
      const truth = company.truth.find((t) => t.accountId === a.id);
      const changes = ms.flatMap((m) => (m.kind === 'subscription' ? [m.body.change] : []));
      expect(changes).toEqual(['started', 'cancelled', 'reactivated']);
      const churn = dayOf(truth?.churnDate ?? '');
      const back = dayOf(truth?.reactivatedAt ?? '');
      expect(back).toBeGreaterThan(churn);
      const product = tracks(ms);
      expect(product.filter((t) => dayOf(t.timestamp) >= churn && dayOf(t.timestamp) < back)).toHaveLength(0);
      expect(product.filter((t) => dayOf(t.timestamp) > back).length).toBeGreaterThan(0);
    }
  });

  it('healthy accounts keep using the product and never churn', () => {
    for (const a of accountsOf('healthy-growing').filter((x) => !x.isNew)) {
      const product = tracks(ofAccount(a.id));
      const first = product.filter((t) => dayOf(t.timestamp) < 30).length;
      const last = product.filter((t) => dayOf(t.timestamp) >= 60).length;
      expect(last).toBeGreaterThan(first * 0.8);
      expect(ofAccount(a.id).some((m) => m.kind === 'subscription' && m.body.change === 'cancelled')).toBe(false);
    }
    expect(company.truth.filter((t) => t.persona === 'healthy-growing').every((t) => !t.atRisk && t.escalation === null)).toBe(true);
    expect(company.truth.filter((t) => t.atRisk).every((t) => t.atRiskFrom !== null)).toBe(true);
  });

  it('copes with a tiny company over a few days', () => {
    const tiny = simulate({ seed: 3, accounts: 3, days: 2, start: START, idPrefix: 'run1-' });
    expect(tiny.company.accounts.every((a) => a.id.startsWith('run1-'))).toBe(true);
    expect(tiny.stream.every((m) => m.at < isoDay(tiny.company.start, 2))).toBe(true);
    expect(() => simulate({ seed: 3, accounts: 0, days: 2, start: START })).toThrow('accounts');
  });
});

describe('simulator: small scenario companies (one account per persona, short windows) keep every persona\'s signature', () => {
  const cases = [21, 30, 45].flatMap((days) => [1, 2, 3].map((seed) => ({ days, seed })));

  it.each(cases)('$days days, seed $seed', ({ days, seed }) => {
    const sim = simulate({ seed, accounts: 7, days, start: START });
    expect(new Set(sim.company.accounts.map((a) => a.persona))).toEqual(new Set(PERSONAS));
    const broken: string[] = [];
    const day = (iso: string) => Math.floor((Date.parse(iso) - Date.parse(sim.company.start)) / DAY_MS);
    for (const a of sim.company.accounts) {
      const ms = sim.stream.filter((m) => m.accountId === a.id);
      const t = sim.company.truth.find((x) => x.accountId === a.id);
      const names = tracks(ms).map((x) => x.event);
      const changes = ms.flatMap((m) => (m.kind === 'subscription' ? [m.body.change] : []));
      const repeat = maxSameCategoryIn14Days(ticketsCreated(ms));
      const fail = (why: string) => broken.push(`${a.persona} ${a.id}: ${why}`);
      if ((a.persona === 'support-heavy') !== repeat >= 3) fail(`max same-category tickets in 14 days: ${repeat}`);
      switch (a.persona) {
        case 'seat-limit':
          if (!names.includes('Seat Limit Reached')) fail('no Seat Limit Reached');
          if (!changes.includes('upgraded')) fail('no upgrade');
          break;
        case 'outage-detractor': {
          const nps = ms.find((m) => m.kind === 'survey' && m.body.kind === 'nps');
          if (!(nps?.kind === 'survey' && nps.body.score <= 6 && nps.body.comment)) fail('no detractor answer with a comment');
          break;
        }
        case 'onboarding-stalled':
          if (!names.includes('Workspace Created') || names.includes('Teammate Invited')) fail(`milestones ${names.filter((n) => n?.includes(' '))}`);
          if (!ticketsCreated(ms).some((x) => x.category === 'onboarding' && day(x.createdAt) > a.startDay + 3)) fail('no late onboarding ticket');
          break;
        case 'cancel-reactivate':
          if (changes.join() !== 'started,cancelled,reactivated') fail(`changes ${changes}`);
          if (!t?.churnDate || !t.reactivatedAt) fail('churn and reactivation not in the window');
          break;
        case 'slowly-disengaging':
          if (!t?.churnDate || !changes.includes('cancelled')) fail('does not churn in the window');
          break;
        case 'healthy-growing':
          if (changes.includes('cancelled') || t?.atRisk) fail('churns or is at risk');
          break;
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('simulator: tickets through Zendesk webhooks', () => {
  const plain = simulate({ seed: 8, accounts: 20, days: 40, start: START });
  const mixed = simulate({ seed: 8, accounts: 20, days: 40, start: START, zendeskShare: 0.5 });

  it('changes nothing else: without a share the stream is the default one, with it only tickets move to the webhook', () => {
    expect(streamHash(simulate({ seed: 8, accounts: 20, days: 40, start: START, zendeskShare: 0 }).stream)).toBe(streamHash(plain.stream));
    const zendesk = mixed.stream.filter((m) => m.kind === 'zendesk');
    expect(zendesk.length).toBeGreaterThan(10);
    expect(mixed.stream.filter((m) => m.kind === 'ticket').length + zendesk.length).toBe(plain.stream.filter((m) => m.kind === 'ticket').length);
    const others = (st: SimMessage[]) => st.filter((m) => m.kind !== 'ticket' && m.kind !== 'zendesk');
    expect(streamHash(others(mixed.stream))).toBe(streamHash(others(plain.stream)));
  });

  it('sends webhooks ingestion reads into tickets of the right account and category', () => {
    const byDomain = new Map<string, string>();
    const problems: string[] = [];
    for (const m of mixed.stream) {
      if (m.kind === 'segment' && m.body.type === 'group') for (const d of domainsFromTraits(m.body.traits ?? {})) byDomain.set(d, m.accountId);
      if (m.kind !== 'zendesk') continue;
      const draft = zendeskTicket(m.body, new Date(m.at));
      if (!draft || 'error' in draft) {
        problems.push(`${m.body.id}: ${draft ? draft.error : 'ignored'}`);
        continue;
      }
      const match = matchAccount(draft.hints, { byDomain, byContact: new Map() });
      if (match?.accountId !== m.accountId) problems.push(`${m.body.id} matched ${match?.accountId}`);
      if (draft.category !== m.body.detail.tags[0] || draft.updatedAt !== m.at || draft.ticketId !== `zendesk:${m.body.detail.id}`) problems.push(`${m.body.id}: ${JSON.stringify(draft)}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });
});
