import { metrics, type Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';

let prometheus: PrometheusExporter | undefined;
const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);

/**
 * The reader behind every service's `GET /metrics` (Prometheus text format). It never opens a port of
 * its own: the service's HTTP server answers the scrape.
 */
export function prometheusReader(): PrometheusExporter {
  prometheus ??= new PrometheusExporter({ preventServerStart: true });
  return prometheus;
}

/** The current metrics in Prometheus text exposition format (empty when telemetry is not started). */
export async function renderPrometheusMetrics(): Promise<string> {
  if (!prometheus) return '';
  const { resourceMetrics, errors } = await prometheus.collect();
  await resourceMetrics.resource.waitForAsyncAttributes?.();
  if (errors.length) process.stderr.write(`[otel] metrics collection errors: ${errors.map(String).join('; ')}\n`);
  return serializer.serialize(resourceMetrics);
}

/**
 * Kizuna's meter. The global meter provider is set when telemetry starts, and a meter taken before
 * that would stay a no-op: create instruments lazily (see {@link lazyInstruments}).
 */
export function kizunaMeter(): Meter {
  return metrics.getMeter('kizuna');
}

/** Creates a set of instruments on first use, after telemetry has started. */
export function lazyInstruments<T>(create: (meter: Meter) => T): () => T {
  let made: T | undefined;
  return () => (made ??= create(kizunaMeter()));
}
