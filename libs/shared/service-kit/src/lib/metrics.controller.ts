import { Controller, Get, Header } from '@nestjs/common';
import { NoBearerAuth } from './auth/roles';
import { renderPrometheusMetrics } from '@kizuna/shared/telemetry';

/** Prometheus scrape endpoint: the service's OpenTelemetry metrics in text exposition format. */
@NoBearerAuth('metrics')
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return renderPrometheusMetrics();
  }
}
