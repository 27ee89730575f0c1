import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { IngestionConfig } from './ingestion.config';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Admin API: `Authorization: Bearer <INGESTION_ADMIN_TOKEN>` (roles replace it with the security work). */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly config: IngestionConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    const expected = this.config.INGESTION_ADMIN_TOKEN;
    if (!expected) throw new ForbiddenException('the admin API is disabled: set INGESTION_ADMIN_TOKEN');
    const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1]) throw new UnauthorizedException('send the admin token as "Authorization: Bearer <token>"');
    if (!timingSafeEqual(digest(match[1]), digest(expected))) throw new UnauthorizedException('invalid admin token');
    return true;
  }
}
