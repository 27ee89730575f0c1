import { performance } from 'node:perf_hooks';
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, ValueType, type Attributes, type Histogram, type Span } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS, ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION, ATTR_URL_PATH, ATTR_URL_SCHEME, METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * One SERVER span per HTTP request, made from Fastify's hooks (instead of instrumentation-http's
 * patched `Server.emit`, which binds every request's and response's emitters to the context and
 * computes both the old and the stable attribute sets: 25-30 % of ingestion's throughput on single
 * events, measured; see docs/benchmarks.md). What it keeps of it:
 * - the caller's W3C trace context continued (traceparent / tracestate / baggage);
 * - the handler, and everything it awaits, runs in the span's context (producer spans, logs' trace_id);
 * - span named `<METHOD> <route template>`, stable HTTP semantic conventions, never a header or the query string;
 * - the `http.server.request.duration` histogram (seconds, the same buckets), by method, route, status and scheme.
 */
export interface HttpServerSpanOptions {
  /** Requests not traced nor measured (e.g. health probes). */
  ignore?: (path: string) => boolean;
}

const STATE = Symbol('kizuna.http-server-span');

interface RequestTrace {
  span: Span;
  start: number;
  ended: boolean;
}

type Traced = FastifyRequest & { [STATE]?: RequestTrace };

const tracer = trace.getTracer('kizuna-http');
let histogram: Histogram | undefined;
const durationHistogram = (): Histogram =>
  (histogram ??= metrics.getMeter('kizuna-http').createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    valueType: ValueType.DOUBLE,
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
  }));

const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

function finish(req: Traced, status: number | undefined, errorType?: string): void {
  const state = req[STATE];
  if (!state || state.ended) return;
  state.ended = true;
  const route = req.routeOptions.url;
  const attrs: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_SCHEME]: req.protocol };
  if (route) attrs[ATTR_HTTP_ROUTE] = route;
  if (status !== undefined) attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
  const error = errorType ?? (status !== undefined && status >= 500 ? String(status) : undefined);
  if (error) attrs[ATTR_ERROR_TYPE] = error;
  const { span } = state;
  if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (error) {
    span.setAttribute(ATTR_ERROR_TYPE, error);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  durationHistogram().record((performance.now() - state.start) / 1000, attrs);
}

/**
 * Adds the hooks to a Fastify instance (before its routes are registered). Typed loosely: Nest's
 * Fastify adapter may bring a copy of Fastify of its own, whose types are not this one's.
 */
export function traceHttpRequests(instance: object, options: HttpServerSpanOptions = {}): void {
  const fastify = instance as FastifyInstance;
  fastify.addHook('onRequest', (request, _reply: FastifyReply, done) => {
    const req = request as Traced;
    const path = pathOf(req.url);
    if (options.ignore?.(path)) return done();
    const route = req.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: path,
          [ATTR_URL_SCHEME]: req.protocol,
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
          [ATTR_NETWORK_PROTOCOL_VERSION]: req.raw.httpVersion,
          ...(req.socket.remoteAddress ? { [ATTR_CLIENT_ADDRESS]: req.socket.remoteAddress } : {}),
        },
      },
      parent,
    );
    req[STATE] = { span, start: performance.now(), ended: false };
    // The rest of the request runs in the span's context: Fastify carries it across the body's
    // arrival (its content-type parser runs in an AsyncResource of the request), and the handler's
    // awaits keep it.
    context.with(trace.setSpan(parent, span), done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    finish(request as Traced, reply.statusCode);
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    finish(request as Traced, undefined, 'aborted');
    done();
  });
}
