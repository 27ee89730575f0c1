import { BadRequestException, Body, Controller, HttpCode, Inject, Post, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { EventPublisher } from '@kizuna/shared/messaging';
import { SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { normaliseTrack } from '@kizuna/ingestion/domain';
import { TrackCallDto } from './track.dto';

/** Until write keys arrive (ingestion issue), every call is attributed to this source. */
export const DEFAULT_SOURCE_ID = 'default';

@Controller('v1')
export class TrackController {
  constructor(
    private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  /** Accepts one `track` call; answers 200 only once Kafka has acknowledged the event. */
  @Post('track')
  @HttpCode(200)
  async track(@Body() body: TrackCallDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ success: true }> {
    const result = normaliseTrack(body, DEFAULT_SOURCE_ID, this.clock.now(), randomUUID);
    if (!result.ok) throw new BadRequestException(result.reason);
    trace.getActiveSpan()?.setAttributes({ 'kizuna.account_id': result.event.accountId, 'kizuna.event_type': 'cs.product.track.v1' });
    try {
      await this.publisher.publish([{ type: 'cs.product.track.v1', subject: result.event.accountId, data: result.event }]);
    } catch (e) {
      this.logger.error({ err: { message: (e as Error).message } }, 'Kafka did not acknowledge; answering 503');
      reply.header('Retry-After', '5');
      throw new ServiceUnavailableException('event store unavailable, retry later');
    }
    return { success: true };
  }
}
