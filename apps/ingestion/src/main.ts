import './telemetry';
import { bootstrapService } from '@kizuna/shared/service-kit';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule } from '@kizuna/ingestion/feature';

// Bodies up to 4 MB reach the handlers, which answer 400 naming the Segment limit (32 KB per
// message, 500 KB per batch) instead of a bare 413; raw bodies are kept to verify webhook signatures.
void bootstrapService({ name: 'ingestion', defaultPort: 3001, data: ingestionData, feature: IngestionModule, bodyLimit: 4 * 1024 * 1024, rawBody: true });
