import { join } from 'node:path';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { prometheusReader } from './metrics';
import { FileSpanExporter } from './file-span-exporter';

let sdk: NodeSDK | undefined;

/** Keeps a recording tracer provider (real trace ids in logs and headers) when nothing is exported. */
class DiscardingSpanProcessor implements SpanProcessor {
  onStart(): void {
    // spans are kept only for their ids
  }
  onEnd(): void {
    // nothing to export
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** Defaults to OTEL_EXPORTER_OTLP_ENDPOINT; traces are only exported when an endpoint is known. */
  otlpEndpoint?: string;
  /** Directory of span files (defaults to KIZUNA_TRACE_DIR; none when unset). */
  traceDir?: string;
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
}

const quietDiag: DiagLogger = {
  error: (msg, ...args) => process.stderr.write(`[otel] ${msg} ${args.map(String).join(' ')}\n`),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};

/**
 * Starts the OpenTelemetry SDK. Call it before anything else is imported (each app's
 * `telemetry.ts` is its first import) so that http and pg are instrumented.
 * Trace context is always created and propagated (W3C traceparent), exported or not.
 */
export function startTelemetry(options: TelemetryOptions): NodeSDK {
  if (sdk) return sdk;
  diag.setLogger(quietDiag, DiagLogLevel.ERROR);
  const endpoint = options.otlpEndpoint ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  // An explicit empty otlpEndpoint turns export off whatever the environment says.
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (endpoint) {
    const url = `${endpoint.replace(/\/$/, '')}/v1/traces`;
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url }),
        scheduledDelayMillis: Number(process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? 1000),
      }),
    );
  }
  // Without a collector: KIZUNA_TRACE_DIR=<dir> writes <dir>/<service>-<pid>.ndjson (`npm run trace` reads it).
  const traceDir = options.traceDir ?? process.env['KIZUNA_TRACE_DIR'];
  if (traceDir) {
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new FileSpanExporter(join(traceDir, `${options.serviceName}-${process.pid}.ndjson`), options.serviceName),
        scheduledDelayMillis: Number(process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? 1000),
      }),
    );
  }
  if (spanProcessors.length === 0) spanProcessors.push(new DiscardingSpanProcessor());
  // Metrics: always scrapeable at GET /metrics; also pushed over OTLP when an endpoint is known.
  const metricReaders: IMetricReader[] = [prometheusReader()];
  if (endpoint) {
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/metrics` }),
        exportIntervalMillis: Number(process.env['OTEL_METRIC_EXPORT_INTERVAL'] ?? 15000),
      }),
    );
  }
  // Logs go to stdout through pino. Without these the SDK would default to OTLP exporters and
  // complain when no collector listens.
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.1.0',
    }),
    spanProcessors,
    metricReaders,
    instrumentations: [
      new HttpInstrumentation({
        // Outgoing requests only (webhooks, Slack): each service's server spans come from its Fastify
        // hooks (traceHttpRequests in http-server-spans.ts), at a fraction of the cost.
        disableIncomingRequestInstrumentation: true,
        // Never record headers: they may carry write keys or tokens.
        headersToSpanAttributes: { client: { requestHeaders: [], responseHeaders: [] }, server: { requestHeaders: [], responseHeaders: [] } },
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  return sdk;
}

/** Flushes and stops the SDK (called last on shutdown). */
export async function stopTelemetry(): Promise<void> {
  if (!sdk) return;
  const s = sdk;
  sdk = undefined;
  await s.shutdown().catch(() => undefined);
}
