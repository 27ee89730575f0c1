import './telemetry';
import { bootstrapService } from '@kizuna/shared/service-kit';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule } from '@kizuna/ingestion/feature';

void bootstrapService({ name: 'ingestion', defaultPort: 3001, data: ingestionData, feature: IngestionModule });
