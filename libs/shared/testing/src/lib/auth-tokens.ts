import { SignJWT } from 'jose';

/** The role names (kept here too so the testing lib needs no service-kit import). */
export type TestRole = 'admin' | 'cs-lead' | 'csm' | 'support' | 'ops';
export const TEST_ROLES: readonly TestRole[] = ['admin', 'cs-lead', 'csm', 'support', 'ops'];

/** The tests' signing keys: two active HS256 keys (rotation), never used outside tests. */
export const TEST_JWT_KEYS = [
  { kid: 'test-1', alg: 'HS256', secret: 'kizuna-test-signing-key-number-one-0123456789' },
  { kid: 'test-2', alg: 'HS256', secret: 'kizuna-test-signing-key-number-two-9876543210' },
] as const;
export const TEST_JWT_ISSUER = 'kizuna';
export const TEST_JWT_AUDIENCE = 'kizuna-api';

/** Sets AUTH_JWT_KEYS (and issuer/audience) in this process's environment (overriding the shell's). */
export function useTestAuthEnv(env: NodeJS.ProcessEnv = process.env): void {
  env['AUTH_JWT_KEYS'] = JSON.stringify(TEST_JWT_KEYS);
  env['AUTH_JWT_ISSUER'] = TEST_JWT_ISSUER;
  env['AUTH_JWT_AUDIENCE'] = TEST_JWT_AUDIENCE;
}

export interface TestTokenOptions {
  sub?: string;
  roles?: readonly string[];
  team?: string;
  csm?: string;
  email?: string;
  region?: string;
  /** Seconds from now; negative for an expired token. Default 600. */
  expiresIn?: number;
  /** Not valid before this many seconds from now. */
  notBeforeIn?: number;
  kid?: string;
  /** Sign with this secret instead of the kid's (a forged token). */
  secret?: string;
  issuer?: string;
  audience?: string;
}

/** A bearer token signed with a test key. */
export async function testToken(o: TestTokenOptions = {}): Promise<string> {
  const kid = o.kid ?? 'test-1';
  const secret = o.secret ?? TEST_JWT_KEYS.find((k) => k.kid === kid)?.secret ?? TEST_JWT_KEYS[0].secret;
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { roles: o.roles ?? ['admin'] };
  for (const c of ['team', 'csm', 'email', 'region'] as const) if (o[c] !== undefined) claims[c] = o[c];
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid })
    .setSubject(o.sub ?? `test-${(o.roles ?? ['admin']).join('-') || 'none'}`)
    .setIssuer(o.issuer ?? TEST_JWT_ISSUER)
    .setAudience(o.audience ?? TEST_JWT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expiresIn ?? 600));
  if (o.notBeforeIn !== undefined) jwt.setNotBefore(now + o.notBeforeIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** `{ authorization: 'Bearer …' }` for a test token. */
export async function authHeader(o: TestTokenOptions = {}): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await testToken(o)}` };
}
