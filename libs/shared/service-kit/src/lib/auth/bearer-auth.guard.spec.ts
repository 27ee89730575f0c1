import { ForbiddenException, HttpException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SignJWT } from 'jose';
import { AuthConfig } from './auth.config';
import { BearerAuthGuard } from './bearer-auth.guard';
import { JwtVerifier } from './jwt-verifier';
import { RateLimiter } from './rate-limiter';
import { NoBearerAuth, PRINCIPAL_KEY, Roles } from './roles';

const SECRET = 'guard-test-secret-of-at-least-32-chars!!';

class Routes {
  @Roles('admin', 'ops') adminOrOps(): string { return 'a'; }
  @NoBearerAuth('probe') probe(): string { return 'p'; }
  noRule(): string { return 'n'; }
}

function setup(limit = 100) {
  const config = Object.assign(new AuthConfig(), { AUTH_JWT_KEYS: JSON.stringify([{ kid: 'k', alg: 'HS256', secret: SECRET }]), AUTH_RATE_LIMIT_PER_MINUTE: limit });
  return new BearerAuthGuard(new Reflector(), new JwtVerifier(config), config);
}

function context(handler: keyof Routes, authorization?: string) {
  const headers: Record<string, string> = {};
  const req = { headers: authorization ? { authorization } : {} } as Record<string, unknown>;
  const reply = { header: (k: string, v: string) => ((headers[k] = v), reply) };
  const ctx = {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }),
  } as unknown as ExecutionContext;
  return { ctx, req, headers };
}

const token = (roles: string[], sub = 'u1') =>
  new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256', kid: 'k' }).setSubject(sub).setIssuer('kizuna').setAudience('kizuna-api').setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

describe('BearerAuthGuard', () => {
  it('denies a route without a rule, even to an admin (default deny)', async () => {
    const c = context('noRule', `Bearer ${await token(['admin'])}`);
    await expect(setup().canActivate(c.ctx)).rejects.toBeInstanceOf(ForbiddenException);
  });

  it('lets @NoBearerAuth routes through without a token', async () => {
    expect(await setup().canActivate(context('probe').ctx)).toBe(true);
  });

  it('401 without or with a bad token, 403 for another role, the principal for an allowed one', async () => {
    const g = setup();
    const none = context('adminOrOps');
    await expect(g.canActivate(none.ctx)).rejects.toBeInstanceOf(UnauthorizedException);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    await expect(g.canActivate(context('adminOrOps', 'Bearer abc.def.ghi').ctx)).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(g.canActivate(context('adminOrOps', `Basic ${Buffer.from('x:').toString('base64')}`).ctx)).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(g.canActivate(context('adminOrOps', `Bearer ${await token(['csm'])}`).ctx)).rejects.toBeInstanceOf(ForbiddenException);
    const ok = context('adminOrOps', `Bearer ${await token(['ops'])}`);
    expect(await g.canActivate(ok.ctx)).toBe(true);
    expect(ok.req[PRINCIPAL_KEY]).toMatchObject({ sub: 'u1', roles: ['ops'] });
  });

  it('429 with Retry-After past the per-user limit; other users unaffected', async () => {
    const g = setup(3);
    const t = `Bearer ${await token(['admin'], 'flood')}`;
    for (let i = 0; i < 3; i++) expect(await g.canActivate(context('adminOrOps', t).ctx)).toBe(true);
    const c = context('adminOrOps', t);
    const e = await g.canActivate(c.ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpException);
    expect((e as HttpException).getStatus()).toBe(429);
    expect(Number(c.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await g.canActivate(context('adminOrOps', `Bearer ${await token(['admin'], 'calm')}`).ctx)).toBe(true);
  });
});

describe('RateLimiter', () => {
  it('counts per key within a window and reopens after it', () => {
    let t = 0;
    const l = new RateLimiter(2, 60_000, () => t);
    expect(l.take('a')).toBeUndefined();
    expect(l.take('a')).toBeUndefined();
    expect(l.take('a')).toBe(60);
    t = 45_500;
    expect(l.take('a')).toBe(15);
    expect(l.take('b')).toBeUndefined();
    t = 60_000;
    expect(l.take('a')).toBeUndefined();
  });
});
