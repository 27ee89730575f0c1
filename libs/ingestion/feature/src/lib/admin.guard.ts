import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BearerAuthGuard, PRINCIPAL_KEY, bearerToken, hasRole, type Principal } from '@kizuna/shared/service-kit';
import { IngestionConfig } from './ingestion.config';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Ingestion's admin API (sources, write keys, unmatched and pending records) accepts either
 * `Authorization: Bearer <INGESTION_ADMIN_TOKEN>` (the bootstrap token, for automation and the
 * first source before an identity provider issues tokens; optional) or a Kizuna JWT with the admin
 * role, verified like every other API. Any other valid JWT gets 403; no or a bad token 401.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly config: IngestionConfig,
    private readonly bearer: BearerAuthGuard,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const token = bearerToken(req, reply);
    const expected = this.config.INGESTION_ADMIN_TOKEN;
    if (expected && timingSafeEqual(digest(token), digest(expected))) return true;
    const principal = await this.bearer.authenticate(req, reply);
    if (!hasRole(principal, 'admin')) throw new ForbiddenException('the ingestion admin API needs the admin role');
    (req as unknown as Record<string, Principal>)[PRINCIPAL_KEY] = principal;
    return true;
  }
}
