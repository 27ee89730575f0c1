import { createHash } from 'node:crypto';
import { generateCompany, type CompanyOptions, type ScriptedCompany } from './company';
import { ENDPOINTS, type SimMessage } from './model';
import { generateStream, type StreamOptions } from './stream';

export type SimulationOptions = CompanyOptions & StreamOptions;

export interface Simulation {
  company: ScriptedCompany;
  stream: SimMessage[];
}

/** The company and its stream, from one seed. */
export function simulate(options: SimulationOptions): Simulation {
  const company = generateCompany(options);
  const stream = generateStream(company, {
    ...(options.activity === undefined ? {} : { activity: options.activity }),
    ...(options.zendeskShare === undefined ? {} : { zendeskShare: options.zendeskShare }),
  });
  return { company, stream };
}

/** One line per message: when (simulated), what, which account, where it goes, and the exact body. */
export function toNdjsonLine(m: SimMessage): string {
  return JSON.stringify({ at: m.at, kind: m.kind, accountId: m.accountId, path: ENDPOINTS[m.kind], body: m.body });
}

/** SHA-256 of the stream as NDJSON: equal hashes, identical streams. */
export function streamHash(stream: readonly SimMessage[]): string {
  const h = createHash('sha256');
  for (const m of stream) h.update(`${toNdjsonLine(m)}\n`);
  return h.digest('hex');
}

/** How the company is made up: accounts per persona, contract size and region; people; the CS team. */
export function describeCompany(company: ScriptedCompany): Record<string, unknown> {
  const count = <T extends string>(xs: T[]) => xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});
  return {
    seed: company.seed,
    window: { start: company.start, end: company.end, days: company.days, outageDay: company.outageDay },
    accounts: company.accounts.length,
    personas: count(company.accounts.map((a) => a.persona)),
    sizes: count(company.accounts.map((a) => a.size)),
    regions: count(company.accounts.map((a) => a.region)),
    users: company.accounts.reduce((n, a) => n + a.users.length, 0),
    csms: company.csms.length,
    teams: company.teams.map((t) => `${t.id} (${t.memberIds.length}, lead ${t.leadCsmId})`),
    atRisk: company.truth.filter((t) => t.atRisk).length,
    churnsInWindow: company.truth.filter((t) => t.churnDate).length,
  };
}
