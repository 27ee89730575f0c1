import './telemetry';
import { bootstrapService } from '@kizuna/shared/service-kit';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule, ingestionHttpOptions } from '@kizuna/ingestion/feature';

const { openApi, ...http } = ingestionHttpOptions();
void bootstrapService({ name: 'ingestion', defaultPort: 3001, data: ingestionData, feature: IngestionModule, ...http, openApi: () => openApi });
