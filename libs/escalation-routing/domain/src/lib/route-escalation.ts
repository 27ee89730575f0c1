import type { EscalationReason } from '@kizuna/shared/contracts';
import type { RoutingRules, RoutingStep } from './escalation-rules';
import type { BusinessHours } from './business-hours';

export interface Csm {
  id: string;
  name: string;
  email: string;
  region: string | null;
  teamId: string | null;
  specialties: string[];
  /** Open escalations this CSM can hold at once. */
  capacity: number;
  active: boolean;
  outOfOffice: { from: Date; to: Date } | null;
}

export interface Team {
  id: string;
  name: string;
  region: string;
  leadCsmId: string | null;
  businessHours: BusinessHours;
}

export interface RoutingInput {
  rules: RoutingRules;
  reason: EscalationReason;
  account: { ownerCsmEmail?: string | null; region?: string | null };
  csms: Csm[];
  teams: Team[];
  /** Open escalations per CSM id. */
  load: Record<string, number>;
  /** When each CSM was last given an escalation (round robin on ties: the longest waiting first). */
  lastAssignedAt: Record<string, Date | null | undefined>;
  /** CSMs not to choose (e.g. the assignee whose SLA was breached). */
  exclude?: string[];
  now: Date;
}

export interface RoutingDecision {
  csm: Csm | null;
  step: RoutingStep | null;
  team: Team | null;
  /** Why this person (or why nobody): every step that was tried, in order. */
  why: string;
}

const isOut = (c: Csm, now: Date) => c.outOfOffice !== null && c.outOfOffice.from <= now && now < c.outOfOffice.to;

/** Why a CSM cannot take one more escalation now, or null when they can. */
export function ineligibility(c: Csm, load: number, now: Date, exclude: string[] = []): string | null {
  if (exclude.includes(c.id)) return `${c.name} is excluded (the previous assignee)`;
  if (!c.active) return `${c.name} is inactive`;
  if (c.outOfOffice && isOut(c, now)) return `${c.name} is out of office until ${c.outOfOffice.to.toISOString()}`;
  if (load >= c.capacity) return `${c.name} is at capacity (${load}/${c.capacity})`;
  return null;
}

/** Least loaded relative to capacity, then the longest since their last assignment (round robin), then id. */
function pick(candidates: Csm[], input: RoutingInput): Csm | undefined {
  const load = (c: Csm) => input.load[c.id] ?? 0;
  const last = (c: Csm) => input.lastAssignedAt[c.id]?.getTime() ?? Number.NEGATIVE_INFINITY;
  return [...candidates].sort((a, b) => load(a) / a.capacity - load(b) / b.capacity || last(a) - last(b) || a.id.localeCompare(b.id))[0];
}

const teamOf = (input: RoutingInput, c: Csm) => input.teams.find((t) => t.id === c.teamId) ?? null;

/**
 * Who gets the escalation: the steps of the reason (default: owner CSM, the account's region team,
 * a specialist for the reason, the least-loaded eligible CSM), each honouring active, out of office
 * and capacity. Pure; the answer says which step chose and why the earlier ones did not.
 */
export function routeEscalation(input: RoutingInput): RoutingDecision {
  const steps = input.rules.stepsByReason[input.reason] ?? input.rules.defaultSteps;
  const exclude = input.exclude ?? [];
  const eligible = (c: Csm) => ineligibility(c, input.load[c.id] ?? 0, input.now, exclude) === null;
  const trail: string[] = [];
  const describe = (c: Csm) => `${c.name} <${c.email}>, ${input.load[c.id] ?? 0}/${c.capacity} open`;

  for (const step of steps) {
    switch (step) {
      case 'owner': {
        const email = input.account.ownerCsmEmail?.toLowerCase();
        const owner = email ? input.csms.find((c) => c.email.toLowerCase() === email) : undefined;
        if (!email) trail.push('owner: the account has no owner CSM');
        else if (!owner) trail.push(`owner: ${email} is not on the roster`);
        else {
          const no = ineligibility(owner, input.load[owner.id] ?? 0, input.now, exclude);
          if (!no) return { csm: owner, step, team: teamOf(input, owner), why: [...trail, `owner: the account's owner CSM ${describe(owner)}`].join('; ') };
          trail.push(`owner: ${no}`);
        }
        break;
      }
      case 'region-team': {
        const region = input.account.region?.toLowerCase();
        const teams = region ? input.teams.filter((t) => t.region.toLowerCase() === region) : [];
        if (!region) trail.push('region-team: the account has no region');
        else if (!teams.length) trail.push(`region-team: no team for region ${region}`);
        else {
          const ids = new Set(teams.map((t) => t.id));
          const members = input.csms.filter((c) => c.teamId !== null && ids.has(c.teamId));
          const chosen = pick(members.filter(eligible), input);
          if (chosen) {
            const team = teamOf(input, chosen);
            return { csm: chosen, step, team, why: [...trail, `region-team: least loaded eligible member of team ${team?.name ?? chosen.teamId} (${region}): ${describe(chosen)}`].join('; ') };
          }
          trail.push(`region-team: no eligible member of ${teams.map((t) => t.name).join(', ')} (${members.length} members)`);
        }
        break;
      }
      case 'specialist': {
        const specialty = input.rules.specialtyByReason[input.reason];
        if (!specialty) {
          trail.push(`specialist: no specialty handles ${input.reason}`);
          break;
        }
        const specialists = input.csms.filter((c) => c.specialties.some((s) => s.toLowerCase() === specialty.toLowerCase()));
        const chosen = pick(specialists.filter(eligible), input);
        if (chosen) return { csm: chosen, step, team: teamOf(input, chosen), why: [...trail, `specialist: least loaded eligible ${specialty} specialist ${describe(chosen)}`].join('; ') };
        trail.push(`specialist: no eligible ${specialty} specialist (${specialists.length} on the roster)`);
        break;
      }
      case 'least-loaded': {
        const chosen = pick(input.csms.filter(eligible), input);
        if (chosen) return { csm: chosen, step, team: teamOf(input, chosen), why: [...trail, `least-loaded: least loaded eligible CSM ${describe(chosen)}`].join('; ') };
        trail.push(`least-loaded: no eligible CSM (${input.csms.length} on the roster)`);
        break;
      }
    }
  }
  const regionTeam = input.account.region ? input.teams.find((t) => t.region.toLowerCase() === input.account.region?.toLowerCase()) ?? null : null;
  return { csm: null, step: null, team: regionTeam, why: [...trail, 'unassigned: nobody can take it now'].join('; ') };
}
