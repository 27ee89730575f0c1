import { ContractSize, EscalationReason, HealthBand, LifecyclePhase } from '@kizuna/shared/contracts';
import {
  ADMIN_TITLES, BASELINE_TICKET_CATEGORIES, COMPANY_FIRST, COMPANY_SECOND, FIRST_NAMES, INDUSTRIES, LAST_NAMES, REGION_INFO, TITLES,
} from './catalog';
import { PERSONAS, REGIONS, SPECIALTIES, type Company, type Csm, type GroundTruth, type Persona, type Region, type SimAccount, type SimUser, type Specialty, type Team } from './model';
import { Prng } from './prng';

export const DAY_MS = 86_400_000;

export interface CompanyOptions {
  seed: number;
  /** Number of accounts (customers). */
  accounts: number;
  /** Length of the simulated window in days. */
  days: number;
  /** First day of the window (a date or an instant; it is truncated to midnight UTC). */
  start: string;
  /** Prefix for account, user and record ids (keeps several runs apart on one platform). Default "". */
  idPrefix?: string;
  /** Share of each persona (defaults below). Every persona appears at least once when accounts >= 7. */
  personaWeights?: Partial<Record<Persona, number>>;
}

export const DEFAULT_PERSONA_WEIGHTS: Record<Persona, number> = {
  'healthy-growing': 0.36,
  'slowly-disengaging': 0.12,
  'onboarding-stalled': 0.1,
  'support-heavy': 0.11,
  'seat-limit': 0.1,
  'outage-detractor': 0.11,
  'cancel-reactivate': 0.1,
};

/** Contract sizes each persona can have (trials only onboard, convert, or lapse). */
const SIZES_OF: Record<Persona, Partial<Record<ContractSize, number>>> = {
  'healthy-growing': { [ContractSize.Enterprise]: 0.2, [ContractSize.Smb]: 0.55, [ContractSize.Freemium]: 0.25 },
  'slowly-disengaging': { [ContractSize.Enterprise]: 0.15, [ContractSize.Smb]: 0.55, [ContractSize.Freemium]: 0.3 },
  'onboarding-stalled': { [ContractSize.Enterprise]: 0.15, [ContractSize.Smb]: 0.45, [ContractSize.Freemium]: 0.4 },
  'support-heavy': { [ContractSize.Enterprise]: 0.3, [ContractSize.Smb]: 0.7 },
  'seat-limit': { [ContractSize.Enterprise]: 0.2, [ContractSize.Smb]: 0.8 },
  'outage-detractor': { [ContractSize.Enterprise]: 0.35, [ContractSize.Smb]: 0.65 },
  'cancel-reactivate': { [ContractSize.Smb]: 1 },
};

/** Days after the start by which "Teammate Invited" is due (lifecycle's default rules). */
export const TEAMMATE_DUE_DAYS: Record<ContractSize, number> = { [ContractSize.Enterprise]: 14, [ContractSize.Smb]: 7, [ContractSize.Freemium]: 3 };
/** Days after the start by which "First Report Shared" is due (lifecycle's default rules). */
export const FIRST_REPORT_DUE_DAYS: Record<ContractSize, number> = { [ContractSize.Enterprise]: 30, [ContractSize.Smb]: 14, [ContractSize.Freemium]: 7 };
export const TRIAL_DAYS = 14;

/** Key moments of an account's script, as day indexes in the window (stored on the account). */
export interface Script {
  /** healthy-growing established accounts that renew inside the window. */
  renewDay?: number;
  /** A trial that converts to a paid plan. */
  convertDay?: number;
  /** When the trajectory turns bad. */
  riskDay?: number;
  /** Activity has faded out by this day (disengaging, cancel-reactivate). */
  fadeEndDay?: number;
  cancelNoticeDay?: number;
  churnDay?: number;
  reactivateDay?: number;
  /** support-heavy: first of the repeat tickets, and their category. */
  burstDay?: number;
  burstCategory?: string;
  burstCount?: number;
  /** seat-limit: all seats taken, and the upgrade. */
  limitDay?: number;
  upgradeDay?: number;
  /** onboarding-stalled: the support contact after the milestone is late. */
  stallTicketDay?: number;
  /** outage-detractor: the NPS answer, a follow-up complaint, and fewer seats. */
  npsDay?: number;
  followUpDay?: number;
  downgradeDay?: number;
}

export type ScriptedAccount = SimAccount & { script: Script };
export type ScriptedCompany = Omit<Company, 'accounts'> & { accounts: ScriptedAccount[] };

export const isoDay = (start: string, day: number, hours = 0): string => new Date(Date.parse(start) + day * DAY_MS + hours * 3_600_000).toISOString();
const midnight = (s: string) => {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`start: not a date: ${s}`);
  return new Date(Math.floor(t / DAY_MS) * DAY_MS).toISOString();
};
const ascii = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const slug = (s: string) => ascii(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const pad = (n: number, w = 4) => String(n).padStart(w, '0');

/** Largest-remainder quotas, at least one of each persona when there is room. */
function personaList(rng: Prng, n: number, weights: Record<Persona, number>): Persona[] {
  const total = PERSONAS.reduce((s, p) => s + (weights[p] ?? 0), 0);
  const exact = PERSONAS.map((p) => ({ p, q: ((weights[p] ?? 0) / total) * n }));
  const counts = new Map(exact.map(({ p, q }) => [p, Math.floor(q)]));
  let left = n - [...counts.values()].reduce((a, b) => a + b, 0);
  for (const { p } of [...exact].sort((a, b) => (b.q % 1) - (a.q % 1))) {
    if (left <= 0) break;
    counts.set(p, (counts.get(p) ?? 0) + 1);
    left--;
  }
  if (n >= PERSONAS.length) {
    for (const p of PERSONAS) {
      if ((weights[p] ?? 0) > 0 && (counts.get(p) ?? 0) === 0) {
        const donor = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] as [Persona, number];
        counts.set(donor[0], donor[1] - 1);
        counts.set(p, 1);
      }
    }
  }
  return rng.shuffle(PERSONAS.flatMap((p) => Array.from({ length: counts.get(p) ?? 0 }, () => p)));
}

class NamePool {
  private readonly used = new Set<string>();
  constructor(private readonly rng: Prng) {}
  person(): { first: string; last: string } {
    for (let i = 0; ; i++) {
      const first = this.rng.pick(FIRST_NAMES);
      const last = this.rng.pick(LAST_NAMES);
      if (!this.used.has(`${first} ${last}`) || i > 50) {
        this.used.add(`${first} ${last}`);
        return { first, last };
      }
    }
  }
}

/**
 * A SaaS company's customer base and CS team, deterministic from the seed: accounts across
 * contract sizes, industries and regions, users with an admin contact, CSMs with regions,
 * specialties and capacity, regional teams, each account's owner, and each account's persona with
 * its script and ground truth.
 */
export function generateCompany(options: CompanyOptions): ScriptedCompany {
  const { seed, days } = options;
  if (!Number.isInteger(options.accounts) || options.accounts < 1) throw new Error('accounts: must be an integer >= 1');
  if (!Number.isInteger(days) || days < 1) throw new Error('days: must be an integer >= 1');
  const start = midnight(options.start);
  const prefix = options.idPrefix ?? '';
  const root = new Prng(seed);
  const vendor = { name: 'Lumen Analytics', domain: 'lumen-analytics.example' };
  const f = (x: number) => Math.min(days - 1, Math.max(0, Math.round(x * days)));
  const outageDay = f(0.5);

  const personas = personaList(root.fork('personas'), options.accounts, { ...DEFAULT_PERSONA_WEIGHTS, ...(options.personaWeights ?? {}) });
  const usedSlugs = new Set<string>();
  const accounts: ScriptedAccount[] = personas.map((persona, i) => {
    const rng = root.fork(`account:${i}`);
    const size = rng.weighted(SIZES_OF[persona]);
    let name = `${rng.pick(COMPANY_FIRST)} ${rng.pick(COMPANY_SECOND)}`;
    let s = slug(name);
    for (let k = 2; usedSlugs.has(s); k++) {
      name = `${name.replace(/ \d+$/, '')} ${k}`;
      s = slug(name);
    }
    usedSlugs.add(s);
    const id = `${prefix}${s}`;
    const domain = `${prefix ? `${slug(prefix)}-` : ''}${s}.example`;
    const region = rng.weighted<Region>({ amer: 0.45, emea: 0.35, apac: 0.2 });
    const script: Script = {};

    // When the account starts: established customers are there on day 0; trials and some others are new.
    let isNew = size === ContractSize.Freemium || persona === 'onboarding-stalled';
    if (persona === 'healthy-growing' && size !== ContractSize.Freemium && days >= 20 && rng.chance(0.3)) isNew = true;
    let startDay = 0;
    if (isNew) {
      const latest = persona === 'onboarding-stalled' ? f(0.35) : persona === 'slowly-disengaging' ? f(0.3) : f(0.5);
      startDay = rng.int(Math.min(f(0.05), latest), latest);
    }

    // Seats, users, money.
    let seats: number;
    let users: number;
    let arr: number;
    let plan: string;
    if (size === ContractSize.Enterprise) {
      seats = rng.int(40, 120);
      users = Math.round(seats * rng.between(0.6, 0.85));
      arr = Math.max(100_000, Math.round((seats * rng.between(900, 2400)) / 1000) * 1000);
      plan = 'Enterprise';
    } else if (size === ContractSize.Smb) {
      seats = rng.int(6, 30);
      users = Math.max(2, Math.round(seats * rng.between(0.55, 0.9)));
      arr = Math.min(96_000, Math.max(3_000, Math.round((seats * rng.between(400, 1200)) / 100) * 100));
      plan = rng.pick(['Team', 'Business']);
    } else {
      seats = 5;
      users = rng.int(2, 4);
      arr = 0;
      plan = 'Trial';
    }
    if (persona === 'seat-limit') users = Math.max(2, seats - rng.int(2, 3));
    if (persona === 'onboarding-stalled') users = Math.max(users, 2);

    const contractStart = isNew ? isoDay(start, startDay) : isoDay(start, -rng.int(120, 900));
    let renewalDate = isNew
      ? isoDay(start, startDay + (size === ContractSize.Freemium ? TRIAL_DAYS : 365))
      : isoDay(start, days + rng.int(100, 400));

    // The persona's script.
    switch (persona) {
      case 'healthy-growing':
        if (size === ContractSize.Freemium) script.convertDay = startDay + rng.int(9, 13);
        else if (!isNew && rng.chance(0.2)) {
          script.renewDay = rng.int(f(0.2), f(0.9));
          renewalDate = isoDay(start, script.renewDay);
        }
        break;
      case 'slowly-disengaging':
        if (size === ContractSize.Freemium) {
          script.riskDay = startDay + 2;
          script.fadeEndDay = startDay + 8;
          script.churnDay = startDay + TRIAL_DAYS;
        } else {
          script.riskDay = f(0.15);
          script.fadeEndDay = f(0.75);
          script.cancelNoticeDay = f(0.78);
          script.churnDay = f(0.88);
          renewalDate = isoDay(start, script.churnDay);
        }
        break;
      case 'onboarding-stalled':
        script.riskDay = startDay + TEAMMATE_DUE_DAYS[size];
        script.stallTicketDay = script.riskDay + rng.int(2, 5);
        break;
      case 'support-heavy': {
        script.burstDay = rng.int(f(0.25), f(0.55));
        script.burstCategory = rng.pick(BASELINE_TICKET_CATEGORIES.filter((c) => c !== 'how-to'));
        script.burstCount = rng.int(3, 5);
        break;
      }
      case 'seat-limit':
        script.limitDay = f(0.4);
        script.upgradeDay = f(0.58);
        break;
      case 'outage-detractor':
        script.riskDay = outageDay;
        script.npsDay = outageDay + rng.int(2, 5);
        script.followUpDay = outageDay + rng.int(8, 12);
        script.downgradeDay = outageDay + rng.int(18, 25);
        break;
      case 'cancel-reactivate':
        script.riskDay = f(0.2);
        script.fadeEndDay = f(0.33);
        script.cancelNoticeDay = f(0.34);
        script.churnDay = f(0.45);
        script.reactivateDay = f(0.62);
        renewalDate = isoDay(start, script.churnDay);
        break;
    }

    // People: an admin contact first, then members; some join later (growth, onboarding, seat-limit).
    const names = new NamePool(rng.fork('names'));
    const emails = new Set<string>();
    const person = (n: number, role: 'admin' | 'member', joinDay: number): SimUser => {
      const { first, last } = names.person();
      let email = `${slug(first)}.${slug(last)}@${domain}`;
      for (let k = 2; emails.has(email); k++) email = `${slug(first)}.${slug(last)}${k}@${domain}`;
      emails.add(email);
      return {
        id: `${id}-u${pad(n, 3)}`,
        email,
        name: `${first} ${last}`,
        title: role === 'admin' ? rng.pick(ADMIN_TITLES) : rng.pick(TITLES),
        role,
        joinDay,
        propensity: role === 'admin' ? rng.between(0.7, 1) : rng.between(0.25, 1),
      };
    };
    const userList: SimUser[] = [person(1, 'admin', startDay)];
    const invitedBy = (k: number): number => {
      if (!isNew) return -1; // existing before the window
      if (persona === 'onboarding-stalled') return Number.POSITIVE_INFINITY; // never invited
      const due = TEAMMATE_DUE_DAYS[size];
      return startDay + Math.min(due - 1, 1 + Math.floor(k / 3));
    };
    for (let k = 2; k <= users; k++) userList.push(person(k, 'member', invitedBy(k)));
    // Growth inside the window: healthy accounts add a few people; seat-limit fills the seats, then more after the upgrade.
    if (persona === 'healthy-growing' && size !== ContractSize.Freemium) {
      const extra = Math.min(seats - users, rng.int(1, Math.max(1, Math.round(seats * 0.15))));
      for (let k = 1; k <= extra; k++) userList.push(person(users + k, 'member', rng.int(Math.min(startDay + 7, days - 1), days - 1)));
    }
    if (persona === 'seat-limit') {
      const limitDay = script.limitDay ?? 0;
      for (let k = users + 1; k <= seats; k++) userList.push(person(k, 'member', rng.int(Math.max(0, limitDay - 10), Math.max(0, limitDay - 1))));
      const after = rng.int(3, 6);
      for (let k = 1; k <= after; k++) userList.push(person(seats + k, 'member', (script.upgradeDay ?? 0) + rng.int(1, 6)));
    }
    const account: ScriptedAccount = {
      id, name, domain, industry: rng.pick(INDUSTRIES), region, size, plan,
      seatsPurchased: seats, arr, currency: 'USD',
      employees: size === ContractSize.Enterprise ? rng.int(1000, 20000) : size === ContractSize.Smb ? rng.int(20, 500) : rng.int(5, 80),
      contractStart, renewalDate, subscriptionId: `${id}-sub`,
      ownerCsmId: null, persona, startDay, isNew,
      adminUserId: (userList[0] as SimUser).id,
      // Never-invited teammates (a stalled onboarding) do not exist for the product yet.
      users: userList.filter((u) => Number.isFinite(u.joinDay)),
      script,
    };
    return account;
  });

  const { csms, teams } = buildCsTeam(root.fork('cs-team'), accounts, vendor.domain, start, days, outageDay);
  const truth = accounts.map((a) => groundTruth(a, start, days, csms));
  return { seed, start, end: isoDay(start, days), days, outageDay, vendor, accounts, csms, teams, truth };
}

function buildCsTeam(rng: Prng, accounts: ScriptedAccount[], vendorDomain: string, start: string, days: number, outageDay: number): { csms: Csm[]; teams: Team[] } {
  const names = new NamePool(rng);
  const csms: Csm[] = [];
  const teams: Team[] = [];
  const handles = new Set<string>();
  for (const region of REGIONS) {
    // One CSM per ten accounts of the region (at least two): paid accounts are owned, and the trials'
    // escalations land on the region team as well.
    const count = Math.max(2, Math.ceil(accounts.filter((a) => a.region === region).length / 10));
    const teamId = `team-${region}`;
    const members: Csm[] = [];
    for (let i = 0; i < count; i++) {
      // One person per name: the roster and notification key people by e-mail too.
      let { first, last } = names.person();
      while (handles.has(`${slug(first)}.${slug(last)}`)) ({ first, last } = names.person());
      const handle = `${slug(first)}.${slug(last)}`;
      handles.add(handle);
      const specialties: Specialty[] = [SPECIALTIES[i % SPECIALTIES.length] as Specialty];
      if (rng.chance(0.3)) {
        const second = SPECIALTIES[(i + 1) % SPECIALTIES.length] as Specialty;
        if (!specialties.includes(second)) specialties.push(second);
      }
      members.push({
        id: `csm-${region}-${i + 1}`,
        name: `${first} ${last}`,
        email: `${handle}@${vendorDomain}`,
        region,
        teamId,
        specialties,
        // Open escalations a CSM can hold. Nobody resolves one inside the simulated window, so this is
        // what a CSM accumulates over it: about one escalation per account of their book, plus the team's share.
        capacity: rng.int(12, 16),
        active: true,
        timezone: REGION_INFO[region].timezone,
        outOfOffice: null,
        notificationChannels: [
          { kind: 'email', address: `${handle}@${vendorDomain}` },
          { kind: 'in-app', address: `csm-${region}-${i + 1}` },
        ],
      });
    }
    teams.push({
      id: teamId,
      name: `${REGION_INFO[region].name} CS`,
      region,
      timezone: REGION_INFO[region].timezone,
      leadCsmId: (members[0] as Csm).id,
      memberIds: members.map((m) => m.id),
      businessHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
    });
    csms.push(...members);
  }
  // Owners: every paid account has a CSM of its region, the least loaded first.
  const owned = new Map<string, number>(csms.map((c) => [c.id, 0]));
  for (const a of accounts) {
    if (a.size === ContractSize.Freemium) continue;
    const candidates = csms.filter((c) => c.region === a.region);
    const owner = candidates.reduce((best, c) => ((owned.get(c.id) ?? 0) < (owned.get(best.id) ?? 0) ? c : best));
    a.ownerCsmId = owner.id;
    owned.set(owner.id, (owned.get(owner.id) ?? 0) + 1);
  }
  // One owner is away during the outage, so that account's escalation goes to the region team.
  const away = accounts.find((a) => a.persona === 'outage-detractor' && a.ownerCsmId);
  const awayCsm = csms.find((c) => c.id === away?.ownerCsmId);
  if (awayCsm) {
    awayCsm.outOfOffice = { from: isoDay(start, Math.max(0, outageDay - 2)), to: isoDay(start, Math.min(days, outageDay + 10)) };
  }
  return { csms, teams };
}

function groundTruth(a: ScriptedAccount, start: string, days: number, csms: Csm[]): GroundTruth {
  const s = a.script;
  const iso = (d: number | undefined) => (d === undefined || d >= days ? null : isoDay(start, d));
  const owner = csms.find((c) => c.id === a.ownerCsmId);
  const routeAt = (day: number | undefined): 'owner' | 'region-team' => {
    if (!owner) return 'region-team';
    const ooo = owner.outOfOffice;
    const at = day === undefined ? null : isoDay(start, day);
    return ooo && at && at >= ooo.from && at < ooo.to ? 'region-team' : 'owner';
  };
  const base = { accountId: a.id, persona: a.persona, size: a.size, region: a.region, ownerCsmId: a.ownerCsmId, reactivatedAt: null as string | null };
  const R = EscalationReason;
  switch (a.persona) {
    case 'healthy-growing':
      return {
        ...base, atRisk: false, atRiskFrom: null, expectedBands: [HealthBand.Good],
        expectedPhases: a.size === ContractSize.Freemium && s.convertDay !== undefined && s.convertDay < days
          ? [LifecyclePhase.Expansion, LifecyclePhase.Adoption]
          : [LifecyclePhase.Adoption, LifecyclePhase.Expansion, LifecyclePhase.Onboarding],
        escalation: null, churnDate: null,
        story: a.size === ContractSize.Freemium
          ? 'A trial that onboards quickly, invites its team and converts to a paid plan.'
          : `Steady, growing use${a.isNew ? ' after a quick onboarding' : ''}; new teammates join${s.renewDay !== undefined ? '; renews inside the window' : ''}; promoter NPS.`,
      };
    case 'slowly-disengaging':
      return {
        ...base, atRisk: true, atRiskFrom: iso(s.riskDay), expectedBands: [HealthBand.Caution, HealthBand.Danger],
        expectedPhases: s.churnDay !== undefined && s.churnDay < days ? [LifecyclePhase.Churned] : [LifecyclePhase.Retention, LifecyclePhase.Renewal, LifecyclePhase.Onboarding],
        // A fading trial never contacts support, and escalations start from a contact: its flag is the band.
        escalation: a.size === ContractSize.Freemium ? null : { reason: R.UsageStalled, also: [R.AtRiskContact], route: routeAt(s.fadeEndDay) },
        churnDate: iso(s.churnDay),
        story: a.size === ContractSize.Freemium
          ? 'A trial that creates a workspace, fades out within a week and lapses at the end of the trial.'
          : 'Usage fades from the second week on as people stop logging in; a late data-export ticket; does not renew.',
      };
    case 'onboarding-stalled':
      return {
        ...base, atRisk: true, atRiskFrom: iso(s.riskDay), expectedBands: [HealthBand.Caution, HealthBand.Danger],
        expectedPhases: [LifecyclePhase.Onboarding, LifecyclePhase.Retention],
        escalation: { reason: R.OnboardingStalled, also: [R.UsageStalled, R.AtRiskContact], route: routeAt(s.stallTicketDay) },
        churnDate: null,
        story: 'A new customer creates its workspace, never invites the team, and asks support for setup help after the milestone is late.',
      };
    case 'support-heavy':
      return {
        ...base, atRisk: false, atRiskFrom: null, expectedBands: [HealthBand.Good, HealthBand.Caution],
        expectedPhases: [LifecyclePhase.Adoption, LifecyclePhase.Retention, LifecyclePhase.Expansion],
        escalation: { reason: R.RepeatInquiries, also: [R.AtRiskContact], route: routeAt((s.burstDay ?? 0) + 6) },
        churnDate: null,
        story: `Uses the product normally but opens ${s.burstCount} "${s.burstCategory}" tickets (and calls) within two weeks; one is reopened.`,
      };
    case 'seat-limit':
      return {
        ...base, atRisk: false, atRiskFrom: null, expectedBands: [HealthBand.Good],
        expectedPhases: [LifecyclePhase.Expansion, LifecyclePhase.Adoption],
        escalation: { reason: R.ExpansionSignal, also: [], route: 'expansion-specialist' },
        churnDate: null,
        story: 'Invites teammates until every seat is taken, hits "Seat Limit Reached", asks for more seats, upgrades, keeps growing.',
      };
    case 'outage-detractor':
      return {
        ...base, atRisk: true, atRiskFrom: iso(s.riskDay), expectedBands: [HealthBand.Caution, HealthBand.Danger],
        expectedPhases: [LifecyclePhase.Retention, LifecyclePhase.Adoption],
        escalation: { reason: R.NegativeSentiment, also: [R.AtRiskContact, R.AgentFlagged], route: routeAt(s.riskDay) },
        churnDate: null,
        story: 'Healthy until the outage: an urgent ticket, an angry call, an NPS detractor answer with a comment, a follow-up complaint; usage keeps dropping and seats are cut.',
      };
    case 'cancel-reactivate':
      return {
        ...base, atRisk: true, atRiskFrom: iso(s.riskDay), expectedBands: [HealthBand.Good, HealthBand.Caution],
        expectedPhases: [LifecyclePhase.Retention, LifecyclePhase.Adoption],
        escalation: { reason: R.UsageStalled, also: [R.AtRiskContact], route: routeAt(s.fadeEndDay) },
        churnDate: iso(s.churnDay), reactivatedAt: iso(s.reactivateDay),
        // Back and active again at the end of the window.
        story: 'Usage fades, asks how to export data, cancels at the end of the term, comes back weeks later and resumes.',
      };
  }
}
