import './telemetry';
import { bootstrapService, openApiDocument } from '@kizuna/shared/service-kit';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { EscalationRoutingModule } from '@kizuna/escalation-routing/feature';

void bootstrapService({
  name: 'escalation-routing',
  defaultPort: 3004,
  data: escalationRoutingData,
  feature: EscalationRoutingModule,
  openApi: () => openApiDocument('escalation-routing.openapi.yaml'),
});
