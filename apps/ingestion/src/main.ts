import './telemetry';
import { loadConfig } from '@kizuna/shared/config';
import { bootstrapService, runClustered } from '@kizuna/shared/service-kit';
import { createLogger } from '@kizuna/shared/telemetry';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionConfig, IngestionModule, ingestionHttpOptions } from '@kizuna/ingestion/feature';

const { openApi, ...http } = ingestionHttpOptions();
runClustered(
  loadConfig(IngestionConfig).INGESTION_WORKERS,
  () => bootstrapService({ name: 'ingestion', defaultPort: 3001, data: ingestionData, feature: IngestionModule, ...http, openApi: () => openApi }),
  createLogger('ingestion'),
);
