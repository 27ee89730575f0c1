import type { Principal, Role } from './roles';

/**
 * Which accounts a caller may see on a route: everything (a role the route does not scope, e.g.
 * admin), or the caller's book and team: accounts whose owner CSM email is the token's `email`,
 * escalations assigned to the token's `csm`, and whatever belongs to the token's `team`. Each
 * service applies what it has the data for (see docs/architecture.md, "Access control").
 */
export type AccountScope =
  | { all: true }
  | { all: false; ownerEmail: string | null; csmId: string | null; team: string | null };

export function accountScope(p: Principal, unscoped: readonly Role[]): AccountScope {
  if (p.roles.some((r) => unscoped.includes(r))) return { all: true };
  return { all: false, ownerEmail: p.email, csmId: p.csm, team: p.team };
}
