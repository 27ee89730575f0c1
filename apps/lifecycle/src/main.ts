import './telemetry';
import { bootstrapService, openApiDocument } from '@kizuna/shared/service-kit';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { LifecycleModule } from '@kizuna/lifecycle/feature';

void bootstrapService({
  name: 'lifecycle',
  defaultPort: 3003,
  data: lifecycleData,
  feature: LifecycleModule,
  openApi: () => openApiDocument('lifecycle.openapi.yaml'),
});
