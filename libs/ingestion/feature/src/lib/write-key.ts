import { Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
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

/** Resolves the calling source from its write key, or answers 401. */
@Injectable()
export class WriteKeyAuth {
  constructor(private readonly registry: SourceRegistry) {}

  async source(req: FastifyRequest, body?: unknown): Promise<string> {
    const key = writeKeyOf(req, body);
    if (!key) throw new UnauthorizedException('missing write key: send it as the HTTP Basic username (empty password) or as "writeKey" in the body');
    const sourceId = await this.registry.authenticate(key);
    if (!sourceId) throw new UnauthorizedException('unknown or revoked write key');
    trace.getActiveSpan()?.setAttribute('kizuna.source_id', sourceId);
    return sourceId;
  }
}
