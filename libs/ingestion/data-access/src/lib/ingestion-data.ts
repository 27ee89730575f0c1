import { INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { MIGRATIONS } from './migrations';

export const INGESTION_SCHEMA = 'ingestion';

export const ingestionData: ServiceDataSpec = {
  schema: INGESTION_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES],
  migrations: MIGRATIONS,
};
