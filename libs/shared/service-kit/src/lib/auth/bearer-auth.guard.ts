import {
  ForbiddenException, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthConfig } from './auth.config';
import { InvalidToken, JwtVerifier } from './jwt-verifier';
import { RateLimiter } from './rate-limiter';
import { NO_BEARER_METADATA, PRINCIPAL_KEY, ROLES_METADATA, hasRole, type Principal, type Role } from './roles';

/** The bearer token of a request, or a 401 saying how to send one. */
export function bearerToken(req: FastifyRequest, reply?: FastifyReply): string {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!m?.[1]) {
    reply?.header('www-authenticate', 'Bearer realm="kizuna"');
    throw new UnauthorizedException(header ? 'the Authorization header must be "Bearer <token>"' : 'authentication required: send "Authorization: Bearer <token>"');
  }
  return m[1];
}

/**
 * The global default-deny guard of every service's HTTP API. A route passes only if it (or its
 * controller) carries @Roles(...) and the request has a valid bearer token with one of those roles,
 * within the per-subject rate limit; or if it is explicitly marked @NoBearerAuth(...). A route with
 * neither is refused with 403, so a new route is closed until someone decides who may call it.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly limiter: RateLimiter;
  private readonly perMinute: number;

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
    @Inject(AuthConfig) config: AuthConfig,
  ) {
    this.perMinute = config.AUTH_RATE_LIMIT_PER_MINUTE;
    this.limiter = new RateLimiter(this.perMinute);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<string>(NO_BEARER_METADATA, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_METADATA, targets);
    if (!roles?.length) throw new ForbiddenException('this route has no access rule (denied by default)');
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const principal = await this.authenticate(req, reply);
    const retryAfter = this.limiter.take(principal.sub);
    if (retryAfter !== undefined) {
      reply.header('retry-after', String(retryAfter));
      throw new HttpException({ statusCode: 429, error: 'Too Many Requests', message: `rate limit: at most ${this.perMinute} requests per minute per user; retry after ${retryAfter} s` }, HttpStatus.TOO_MANY_REQUESTS);
    }
    if (!hasRole(principal, ...roles)) throw new ForbiddenException(`this route needs one of the roles: ${roles.join(', ')}`);
    (req as unknown as Record<string, Principal>)[PRINCIPAL_KEY] = principal;
    return true;
  }

  /** Verifies the request's bearer token (401 when missing or invalid). */
  async authenticate(req: FastifyRequest, reply?: FastifyReply): Promise<Principal> {
    const token = bearerToken(req, reply);
    try {
      return await this.verifier.verify(token);
    } catch (e) {
      reply?.header('www-authenticate', 'Bearer realm="kizuna", error="invalid_token"');
      if (e instanceof InvalidToken) throw new UnauthorizedException(`invalid token: ${e.message}`);
      throw e;
    }
  }
}
