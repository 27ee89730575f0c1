import { HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '@kizuna/shared/service-kit';
import { IngestionConfig } from './ingestion.config';
import { trace } from '@opentelemetry/api';
import { SourceRegistry } from './source-registry.service';

/** The write key: HTTP Basic username (empty password), else `writeKey` in the body. */
export function writeKeyOf(req: FastifyRequest, body: unknown): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (m?.[1]) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
      if (user) return user;
    }
  }
  const fromBody = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['writeKey'] : undefined;
  return typeof fromBody === 'string' && fromBody ? fromBody : undefined;
}

/**
 * Resolves the calling source from its write key, or answers 401; a source over its request rate
 * (INGESTION_RATE_LIMIT_PER_MINUTE per instance) gets 429 with Retry-After.
 */
@Injectable()
export class WriteKeyAuth {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly registry: SourceRegistry,
    private readonly config: IngestionConfig,
  ) {
    this.limiter = new RateLimiter(config.INGESTION_RATE_LIMIT_PER_MINUTE);
  }

  async source(req: FastifyRequest, body?: unknown, reply?: FastifyReply): Promise<string> {
    const key = writeKeyOf(req, body);
    if (!key) throw new UnauthorizedException('missing write key: send it as the HTTP Basic username (empty password) or as "writeKey" in the body');
    const sourceId = await this.registry.authenticate(key);
    if (!sourceId) throw new UnauthorizedException('unknown or revoked write key');
    trace.getActiveSpan()?.setAttribute('kizuna.source_id', sourceId);
    const retryAfter = this.limiter.take(sourceId);
    if (retryAfter !== undefined) {
      reply?.header('Retry-After', String(retryAfter));
      throw new HttpException(
        { statusCode: 429, error: 'Too Many Requests', message: `this write key is over its limit of ${this.config.INGESTION_RATE_LIMIT_PER_MINUTE} requests per minute; retry after ${retryAfter} s` },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    return sourceId;
  }
}
