import { INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import {
  AccountDomain, CallRecordState, Contact, PendingEvent, ReceivedMessage, Source, SourceKey, SourceSecret, UnmatchedRecord, UserAccount,
} from './entities';
import { MIGRATIONS } from './migrations';

export const INGESTION_SCHEMA = 'ingestion';

export const ingestionData: ServiceDataSpec = {
  schema: INGESTION_SCHEMA,
  entities: [
    ...INBOX_OUTBOX_ENTITIES, Source, SourceKey, SourceSecret, ReceivedMessage, UserAccount, PendingEvent,
    AccountDomain, Contact, UnmatchedRecord, CallRecordState,
  ],
  migrations: MIGRATIONS,
};
