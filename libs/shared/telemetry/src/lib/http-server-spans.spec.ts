import { context, metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { DataPointType, MeterProvider, MetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { traceHttpRequests } from './http-server-spans';

class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('traceHttpRequests', () => {
  const exporter = new InMemorySpanExporter();
  const reader = new CollectingReader();
  let app: FastifyInstance;
  /** What the handler saw as the active span, after an await. */
  let seenInHandler: string | undefined;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    app = Fastify();
    traceHttpRequests(app, { ignore: (path) => path.startsWith('/health') });
    app.post('/v1/items/:id', async (req) => {
      await new Promise((resolve) => setImmediate(resolve));
      seenInHandler = trace.getActiveSpan()?.spanContext().spanId;
      return { id: (req.params as { id: string }).id, body: req.body };
    });
    app.get('/boom', async () => {
      throw new Error('kaput');
    });
    app.get('/health/live', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app.close();
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => {
    exporter.reset();
    seenInHandler = undefined;
  });

  /** A real request over a socket, its body in two writes a turn of the event loop apart (as from a client). */
  const postInTwoParts = (path: string, headers: Record<string, string>, body: string) =>
    new Promise<number>((resolve, reject) => {
      const { port } = app.server.address() as AddressInfo;
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 3));
      setImmediate(() => req.end(body.slice(3)));
    });

  it('makes one SERVER span per request, named by its route, continuing the caller\'s trace; the handler runs in it', async () => {
    const status = await postInTwoParts(
      '/v1/items/42?writeKey=secret',
      { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, authorization: 'Basic c2VjcmV0Og==' },
      JSON.stringify({ a: 1, b: 'two' }),
    );
    expect(status).toBe(200);
    const [span, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(span?.name).toBe('POST /v1/items/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(seenInHandler).toBe(span?.spanContext().spanId);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/items/:id',
      'url.path': '/v1/items/42',
      'http.response.status_code': 200,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    // Neither headers nor the query string.
    expect(JSON.stringify(span?.attributes)).not.toMatch(/secret|c2VjcmV0|authorization/i);
  });

  it('starts a new trace without a traceparent, and marks server errors', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('GET /boom');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
  });

  it('does not mark client errors, and names unrouted requests by their method alone', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(res.statusCode).toBe(404);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('GET');
    expect(span?.attributes['http.route']).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('leaves ignored paths untraced', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('records http.server.request.duration by method, route and status', async () => {
    await app.inject({ method: 'POST', url: '/v1/items/7', payload: {} });
    const { resourceMetrics } = await reader.collect();
    const histogram = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'http.server.request.duration') as HistogramMetricData | undefined;
    expect(histogram?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(histogram?.descriptor.unit).toBe('s');
    const routed = histogram?.dataPoints.find((p) => p.attributes['http.route'] === '/v1/items/:id' && p.attributes['http.response.status_code'] === 200);
    expect(routed?.value.count).toBeGreaterThanOrEqual(2);
    expect(histogram?.dataPoints.some((p) => String(p.attributes['url.path'] ?? '').length > 0)).toBe(false);
    expect(histogram?.dataPoints.some((p) => p.attributes['http.route'] === '/health/live')).toBe(false);
  });
});
