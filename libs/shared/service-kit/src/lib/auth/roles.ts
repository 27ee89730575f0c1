import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** The roles a Kizuna token can carry. */
export const ROLES = ['admin', 'cs-lead', 'csm', 'support', 'ops'] as const;
export type Role = (typeof ROLES)[number];
export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** The authenticated caller, from a verified bearer token. */
export interface Principal {
  /** `sub`: the user id (recorded as the actor of changes). */
  sub: string;
  roles: Role[];
  /** `team`: the user's CS team id. */
  team: string | null;
  /** `csm`: the user's CSM id in the roster (csm and cs-lead tokens). */
  csm: string | null;
  /** `email`: matched against accounts' owner CSM email (a CSM's book). */
  email: string | null;
  region: string | null;
  /** `kid` of the key that verified the token. */
  kid: string;
}

export const ROLES_METADATA = 'kizuna:auth:roles';
export const NO_BEARER_METADATA = 'kizuna:auth:no-bearer';

/**
 * The roles that may call a route (or every route of a controller). The global guard denies every
 * route that has neither this nor @NoBearerAuth (default deny). Scoping to a CSM's book or team is
 * the handler's job (with the Principal).
 */
export const Roles = (...roles: [Role, ...Role[]]) => SetMetadata(ROLES_METADATA, roles);

/**
 * A route that does not take bearer tokens: health probes, the Prometheus scrape, intake
 * authenticated by write keys, a route with its own guard, or a link carrying its own signature
 * (e-mail unsubscribe). `why` documents the choice.
 */
export const NoBearerAuth = (why: 'probe' | 'metrics' | 'write-key' | 'own-guard' | 'signed-link') => SetMetadata(NO_BEARER_METADATA, why);

/** The request property holding the Principal once the guard has verified the token. */
export const PRINCIPAL_KEY = 'kizunaPrincipal';

export function principalOf(req: unknown): Principal | undefined {
  return (req as Record<string, Principal | undefined>)[PRINCIPAL_KEY];
}

/** The authenticated caller of a @Roles route (parameter decorator). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const p = principalOf(ctx.switchToHttp().getRequest());
  if (!p) throw new Error('CurrentPrincipal used on a route without @Roles');
  return p;
});

export const hasRole = (p: Principal, ...roles: Role[]) => p.roles.some((r) => roles.includes(r));
