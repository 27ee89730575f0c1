import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { NoBearerAuth } from './auth/roles';
import type { FastifyReply } from 'fastify';
import { ReadinessService, type Readiness } from './readiness.service';

@NoBearerAuth('probe')
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 only when Kafka and Postgres answer (and the consumer runs); 503 otherwise, with details. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness & { status: string }> {
    const r = await this.readiness.check();
    reply.status(r.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: r.ready ? 'ready' : 'not-ready', ...r };
  }
}
