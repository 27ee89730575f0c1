import './telemetry';
import { bootstrapService, openApiDocument } from '@kizuna/shared/service-kit';
import { healthScoringData } from '@kizuna/health-scoring/data-access';
import { HealthScoringModule } from '@kizuna/health-scoring/feature';

void bootstrapService({
  name: 'health-scoring',
  defaultPort: 3002,
  data: healthScoringData,
  feature: HealthScoringModule,
  openApi: () => openApiDocument('health-scoring.openapi.yaml'),
});
