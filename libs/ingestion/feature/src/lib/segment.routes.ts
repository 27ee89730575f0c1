import { BadRequestException, HttpException, HttpStatus, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SEGMENT_TYPES, checkBatch, checkMessageSize, mergeBatchDefaults, type SegmentType } from '@kizuna/ingestion/domain';
import { EventStoreUnavailable, SegmentIngestService, type IngestResult, type RejectedItem } from './segment-ingest.service';
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

type SegmentRequest = FastifyRequest<{ Params: { type: string } }>;

/**
 * The Segment HTTP tracking API (`/v1/track`, `/identify`, `/group`, `/page`, `/screen`, `/alias`,
 * `/batch`, `/import`), so existing Segment and RudderStack SDKs can point at Kizuna unchanged.
 * 200 `{"success": true}` only after Kafka acknowledged; 400 names the problem; 401 for a bad key;
 * 503 with Retry-After when the event store is unavailable.
 *
 * Fastify routes of their own, not a Nest controller: these are the service's hot path, and Nest's
 * router (guards, the global ValidationPipe on every parameter, its promise chain) cost about a tenth
 * of the CPU of a single-event call (docs/benchmarks.md). What Nest gave them is kept: the server span
 * and the request metrics (Fastify hooks), the body parsers, and the error answers in Nest's shape
 * (`HttpException`s as Nest sends them; anything else a logged 500 that says nothing of the cause).
 * The write key is the authentication (no bearer token, as `@NoBearerAuth('write-key')` said before).
 */
@Injectable()
export class SegmentRoutes implements OnModuleInit {
  private readonly logger = new Logger('SegmentRoutes');

  constructor(
    private readonly auth: WriteKeyAuth,
    private readonly ingest: SegmentIngestService,
    private readonly host: HttpAdapterHost,
  ) {}

  /** Registered on the Nest app's Fastify instance before it listens (module init comes first). */
  onModuleInit(): void {
    const adapter = this.host.httpAdapter as { getInstance(): FastifyInstance } | undefined;
    if (!adapter) return; // an application context without HTTP
    const fastify = adapter.getInstance();
    const route = (path: string, handler: (req: SegmentRequest, reply: FastifyReply) => Promise<unknown>) =>
      fastify.post(path, async (req, reply) => {
        try {
          return await handler(req as SegmentRequest, reply);
        } catch (e) {
          return this.answerError(e, req, reply);
        }
      });
    route('/v1/batch', (req, reply) => this.batch(req, reply));
    route('/v1/import', (req, reply) => this.batch(req, reply));
    route('/v1/:type', (req, reply) => this.single(req, reply));
  }

  /** As Nest's exception filter answers: an HttpException's own body; anything else a 500, logged. */
  private answerError(e: unknown, req: FastifyRequest, reply: FastifyReply): unknown {
    if (e instanceof HttpException) {
      const body = e.getResponse();
      reply.code(e.getStatus());
      return typeof body === 'string' ? { statusCode: e.getStatus(), message: body } : body;
    }
    // The route's template, not the URL: a query string is the caller's and may carry anything.
    this.logger.error(`${req.method} ${req.routeOptions.url ?? ''}: ${(e as Error).message}`, (e as Error).stack);
    reply.code(500);
    return { statusCode: 500, message: 'Internal server error' };
  }

  async batch(req: FastifyRequest, reply: FastifyReply): Promise<BatchResponse> {
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

  async single(req: SegmentRequest, reply: FastifyReply): Promise<{ success: true }> {
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
