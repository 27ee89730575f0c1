import { TEST_ROLES, testToken, type TestRole, type TestTokenOptions } from './auth-tokens';

/** How a role may use a route: everything, or only its book/team (other ids answer 404). */
export type Access = 'all' | 'scoped';

export interface MatrixRequest {
  /** The concrete path (ids filled in, query string allowed). */
  path: string;
  body?: unknown;
}

export interface MatrixRule {
  /** The roles allowed and how; a role not listed must get 403. */
  roles: Partial<Record<TestRole, Access>>;
  /** A request on the caller's own book/team (or any request, for unscoped routes); per role when a function. */
  own: MatrixRequest | ((role: TestRole) => MatrixRequest);
  /**
   * A request naming another team's ids. Scoped roles must get 404, or for a list ('list'), a 200
   * whose body names none of the foreign ids.
   */
  other?: MatrixRequest & { kind: 'id' | 'list' };
  /**
   * The own request names something that does not exist (no fixture): 404 then counts as allowed.
   * Role checks (403) and bad tokens (401) are still asserted.
   */
  ownMayBeAbsent?: true;
}

/** A route that takes no bearer token (its own authentication is tested elsewhere). */
export interface NoBearerRule {
  noBearer: 'probe' | 'metrics' | 'write-key' | 'own-guard' | 'signed-link';
}

/** How the matrix sends a request: over HTTP (fetchTransport) or Fastify's inject (injectTransport). */
export type Transport = (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; text: string }>;

export function fetchTransport(baseUrl: string): Transport {
  return async (method, path, headers, body) => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: res.status, text: await res.text() };
  };
}

interface Injectable {
  inject(o: { method: string; url: string; headers: Record<string, string>; payload?: string }): PromiseLike<{ statusCode: number; body: string }>;
}

/** Requests through the Nest app's Fastify instance (`app.getHttpAdapter().getInstance()`) without a socket. */
export function injectTransport(fastify: Injectable): Transport {
  return async (method, url, headers, payload) => {
    const r = await fastify.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    return { status: r.statusCode, text: r.body };
  };
}

export interface AuthMatrixOptions {
  send: Transport;
  /** Every route the app registered (recordRoutes). */
  routes: Set<string>;
  rules: Record<string, MatrixRule | NoBearerRule>;
  /** Each role's claims (team, csm id, email) for the own-team fixtures. */
  principals: Record<TestRole, TestTokenOptions>;
  /** Ids of another team's data that must never appear in a scoped answer. */
  foreignIds: string[];
}

async function call(send: Transport, method: string, req: MatrixRequest, token?: string): Promise<{ status: number; text: string }> {
  const body = req.body === undefined && (method === 'post' || method === 'put' || method === 'patch') ? {} : req.body;
  const headers = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return send(method.toUpperCase(), req.path, headers, body === undefined ? undefined : JSON.stringify(body));
}

/** Routes registered without a rule (a new route must be added to the matrix) and rules without a route. */
export function matrixCoverage(routes: Set<string>, rules: Record<string, unknown>): { uncovered: string[]; stale: string[] } {
  return {
    uncovered: [...routes].filter((r) => !(r in rules)).sort(),
    stale: Object.keys(rules).filter((r) => !routes.has(r)).sort(),
  };
}

/**
 * Calls every bearer route with no token, a malformed one, a forged one (wrong key), an expired one,
 * one for another audience, then with every role on its own ids and on another team's ids.
 * Returns every deviation as a line ("get /v1/x csm other: expected 404, got 200"); [] when all hold.
 */
export async function runAuthMatrix(o: AuthMatrixOptions): Promise<string[]> {
  const failures: string[] = [];
  const tokens = Object.fromEntries(await Promise.all(TEST_ROLES.map(async (r) => [r, await testToken({ ...o.principals[r], roles: [r] })] as const))) as Record<TestRole, string>;
  const bad: [string, string][] = [
    ['malformed', 'not-a-jwt'],
    ['forged', await testToken({ roles: ['admin'], secret: 'an-attacker-secret-that-is-long-enough-0000' })],
    ['unknown kid', await testToken({ roles: ['admin'], kid: 'nobody' })],
    ['expired', await testToken({ roles: ['admin'], expiresIn: -120 })],
    ['not yet valid', await testToken({ roles: ['admin'], notBeforeIn: 600 })],
    ['other audience', await testToken({ roles: ['admin'], audience: 'someone-else' })],
    ['other issuer', await testToken({ roles: ['admin'], issuer: 'someone-else' })],
    ['no role', await testToken({ roles: [] })],
  ];
  for (const route of [...o.routes].sort()) {
    const rule = o.rules[route];
    if (!rule || 'noBearer' in rule) continue;
    const [method] = route.split(' ') as [string];
    const expect = (what: string, ok: boolean, got: { status: number; text: string }, wanted: string) => {
      if (!ok) failures.push(`${route} ${what}: expected ${wanted}, got ${got.status} ${got.text.slice(0, 160)}`);
    };
    const own = (role: TestRole) => (typeof rule.own === 'function' ? rule.own(role) : rule.own);
    let r = await call(o.send, method, own('admin'));
    expect('no token', r.status === 401, r, '401');
    for (const [what, token] of bad) {
      r = await call(o.send, method, own('admin'), token);
      expect(what, what === 'no role' ? r.status === 403 : r.status === 401, r, what === 'no role' ? '403' : '401');
    }
    for (const role of TEST_ROLES) {
      const access = rule.roles[role];
      r = await call(o.send, method, own(role), tokens[role]);
      if (!access) {
        expect(`${role} own`, r.status === 403, r, '403');
        continue;
      }
      const refused = rule.ownMayBeAbsent ? [401, 403, 429] : [401, 403, 404, 429];
      expect(`${role} own`, r.status < 500 && !refused.includes(r.status), r, `allowed (not ${refused.join('/')}/5xx)`);
      if (!rule.other) continue;
      r = await call(o.send, method, rule.other, tokens[role]);
      if (access === 'all') {
        expect(`${role} other`, r.status < 500 && ![401, 403, 429].includes(r.status), r, 'allowed');
      } else if (rule.other.kind === 'id') {
        expect(`${role} other`, r.status === 404, r, '404');
      } else {
        const leaked = o.foreignIds.filter((id) => r.text.includes(id));
        expect(`${role} other`, r.status === 200 && leaked.length === 0, r, `200 without ${leaked.join(', ') || 'foreign ids'}`);
      }
    }
  }
  return failures;
}

/** Ids an attacker might send: SQL syntax, LIKE wildcards, traversal, control characters, overlong. */
export const HOSTILE_IDS = [
  "'; DROP TABLE escalation; --",
  "' OR '1'='1",
  '1; SELECT pg_sleep(5)',
  '%',
  '%25',
  '_',
  '*',
  '..%2F..%2Fetc%2Fpasswd',
  '\\x00',
  '$1',
  'a'.repeat(300),
] as const;

/**
 * Sends every hostile id in every path parameter of every bearer route (as admin, so the request
 * reaches the handler); each must answer 400 or 404 (never 2xx or 5xx). Returns the deviations.
 */
export async function runHostileIds(o: { send: Transport; routes: Set<string>; rules: AuthMatrixOptions['rules']; token: string }): Promise<string[]> {
  const failures: string[] = [];
  for (const route of [...o.routes].sort()) {
    const rule = o.rules[route];
    if (!rule || ('noBearer' in rule && rule.noBearer !== 'own-guard')) continue;
    const [method, template] = route.split(' ') as [string, string];
    if (!template.includes('{')) continue;
    for (const id of HOSTILE_IDS) {
      const path = template.replace(/\{\w+\}/g, encodeURIComponent(id));
      const r = await call(o.send, method, { path }, o.token);
      if (![400, 404, 414].includes(r.status)) failures.push(`${route} with id ${JSON.stringify(id.slice(0, 40))}: expected 400/404, got ${r.status} ${r.text.slice(0, 160)}`);
    }
  }
  return failures;
}
