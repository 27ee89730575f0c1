import type { Company, Csm, Team } from './model';

/**
 * The CS team as plain JSON, in the shape escalation-routing's roster API is expected to take
 * (`PUT /v1/csms/:id`, `PUT /v1/teams/:id`): the id in the path, the rest in the body.
 */
export interface Roster {
  csms: { id: string; body: Omit<Csm, 'id'> }[];
  teams: { id: string; body: Omit<Team, 'id'> }[];
}

export function rosterOf(company: Pick<Company, 'csms' | 'teams'>): Roster {
  return {
    csms: company.csms.map(({ id, ...body }) => ({ id, body })),
    teams: company.teams.map(({ id, ...body }) => ({ id, body })),
  };
}

export interface RosterResult {
  status: 'posted' | 'skipped' | 'failed';
  /** Why it was skipped or what failed. */
  reason?: string;
  csms: number;
  teams: number;
  failures: { path: string; status: number; message: string }[];
}

/**
 * PUTs the roster to a base URL (escalation-routing): teams, then CSMs, then any team refused the
 * first time (e.g. because its lead did not exist yet). When the first call answers 404 the
 * service has no roster API yet: the roster is skipped, which is not an error.
 */
export async function postRoster(
  baseUrl: string,
  roster: Roster,
  options: { fetch?: typeof fetch; headers?: Record<string, string> } = {},
): Promise<RosterResult> {
  const doFetch = options.fetch ?? fetch;
  const put = async (path: string, body: unknown): Promise<{ status: number; message: string }> => {
    const res = await doFetch(new URL(path, baseUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, message: text.slice(0, 500) };
  };
  const teamPath = (id: string) => `/v1/teams/${encodeURIComponent(id)}`;
  const csmPath = (id: string) => `/v1/csms/${encodeURIComponent(id)}`;
  try {
    // Teams first (CSMs name their team); a team refused now (its lead does not exist yet) is retried after the CSMs.
    const retry: Roster['teams'] = [];
    let teams = 0;
    for (const [i, t] of roster.teams.entries()) {
      const r = await put(teamPath(t.id), t.body);
      if (i === 0 && r.status === 404) return { status: 'skipped', reason: `PUT ${teamPath(t.id)} answered 404: no roster API at ${baseUrl} yet`, csms: 0, teams: 0, failures: [] };
      if (r.status < 300) teams++;
      else retry.push(t);
    }
    const failures: RosterResult['failures'] = [];
    let csms = 0;
    for (const c of roster.csms) {
      const r = await put(csmPath(c.id), c.body);
      if (r.status < 300) csms++;
      else failures.push({ path: csmPath(c.id), ...r });
    }
    for (const t of retry) {
      const r = await put(teamPath(t.id), t.body);
      if (r.status < 300) teams++;
      else failures.push({ path: teamPath(t.id), ...r });
    }
    return { status: failures.length ? 'failed' : 'posted', csms, teams, failures };
  } catch (e) {
    return { status: 'failed', reason: `${baseUrl} did not answer: ${(e as Error).message}`, csms: 0, teams: 0, failures: [] };
  }
}
