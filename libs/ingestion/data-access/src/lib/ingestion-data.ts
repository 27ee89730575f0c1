import { INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { PendingEvent, ReceivedMessage, Source, SourceKey, UserAccount } from './entities';
import { MIGRATIONS } from './migrations';

export const INGESTION_SCHEMA = 'ingestion';

export const ingestionData: ServiceDataSpec = {
  schema: INGESTION_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, Source, SourceKey, ReceivedMessage, UserAccount, PendingEvent],
  migrations: MIGRATIONS,
};
