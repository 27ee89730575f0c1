import {
  BadRequestException, Controller, HttpCode, HttpException, HttpStatus, Post, Req, Res,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SEGMENT_TYPES, checkBatch, checkMessageSize, mergeBatchDefaults, type SegmentType } from '@kizuna/ingestion/domain';
import { EventStoreUnavailable, SegmentIngestService, type IngestResult, type RejectedItem } from './segment-ingest.service';
import { NoBearerAuth } from '@kizuna/shared/service-kit';
import { WriteKeyAuth } from './write-key';

export interface BatchResponse extends Omit<IngestResult, 'rejected'> {
  success: true;
  rejected: RejectedItem[];
}

const RETRY_AFTER_SECONDS = '5';

/** The body's size as sent, uncompressed (a gzip body's Content-Length is the compressed size). */
function bodyBytes(req: FastifyRequest, body: unknown): number {
  if (req.headers['content-encoding']) return Buffer.byteLength(JSON.stringify(body) ?? '');
  const header = Number(req.headers['content-length']);
  return Number.isFinite(header) && header > 0 ? header : Buffer.byteLength(JSON.stringify(body) ?? '');
}

/**
 * The Segment HTTP tracking API (`/v1/track`, `/identify`, `/group`, `/page`, `/screen`, `/alias`,
 * `/batch`, `/import`), so existing Segment and RudderStack SDKs can point at Kizuna unchanged.
 * 200 `{"success": true}` only after Kafka acknowledged; 400 names the problem; 401 for a bad key;
 * 503 with Retry-After when the event store is unavailable.
 *
 * The handlers read the body and the route's parameter from the request rather than through `@Body()`
 * and `@Param()`: Nest runs the global ValidationPipe on every such parameter of every request, and
 * these bodies are checked by the Segment schema anyway.
 */
@NoBearerAuth('write-key')
@Controller('v1')
export class SegmentController {
  constructor(
    private readonly auth: WriteKeyAuth,
    private readonly ingest: SegmentIngestService,
  ) {}

  @Post(['batch', 'import'])
  @HttpCode(200)
  async batch(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BatchResponse> {
    const body = req.body;
    const sourceId = await this.auth.source(req, body, reply);
    if (typeof body !== 'object' || body === null || !Array.isArray((body as Record<string, unknown>)['batch'])) {
      throw new BadRequestException('batch: must be an array of messages ({"batch": [...]})');
    }
    const b = body as { batch: unknown[]; context?: unknown; integrations?: unknown; sentAt?: unknown };
    const bytes = bodyBytes(req, body);
    const limit = checkBatch(bytes, b.batch.length);
    if (limit) throw new BadRequestException(limit.message);
    const outer = {
      ...(isObject(b.context) ? { context: b.context } : {}),
      ...(isObject(b.integrations) ? { integrations: b.integrations } : {}),
      ...(typeof b.sentAt === 'string' ? { sentAt: b.sentAt } : {}),
    };
    const items = b.batch.map((item) => mergeBatchDefaults(item, outer));
    const result = await this.run(reply, () => this.ingest.ingest(sourceId, req.url.split('?')[0] ?? '/v1/batch', items, undefined, bytes));
    if (result.accepted + result.duplicates === 0 && result.rejected.length > 0) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'no valid message in the batch', rejected: result.rejected });
    }
    return { success: true, ...result };
  }

  @Post(':type')
  @HttpCode(200)
  async single(@Req() req: FastifyRequest<{ Params: { type: string } }>, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ success: true }> {
    const { type } = req.params;
    const body = req.body;
    if (!(SEGMENT_TYPES as readonly string[]).includes(type)) {
      throw new HttpException(`unknown endpoint /v1/${type}`, HttpStatus.NOT_FOUND);
    }
    const sourceId = await this.auth.source(req, body, reply);
    const bytes = bodyBytes(req, body);
    const tooBig = checkMessageSize(bytes);
    if (tooBig) throw new BadRequestException(tooBig.message);
    const result = await this.run(reply, () => this.ingest.ingest(sourceId, `/v1/${type}`, [body], type as SegmentType, bytes));
    const rejected = result.rejected[0];
    if (rejected) throw new BadRequestException(rejected.reason);
    return { success: true };
  }

  private async run(reply: FastifyReply, work: () => Promise<IngestResult>): Promise<IngestResult> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof EventStoreUnavailable) {
        reply.header('Retry-After', RETRY_AFTER_SECONDS);
        throw new HttpException({ statusCode: 503, error: 'Service Unavailable', message: `${e.message}; nothing was stored, retry later` }, 503);
      }
      throw e;
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
