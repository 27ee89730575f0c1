import { AccountHealthProjection, INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { NOTIFICATION_ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export const NOTIFICATION_SCHEMA = 'notification';

export const notificationData: ServiceDataSpec = {
  schema: NOTIFICATION_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, AccountHealthProjection, ...NOTIFICATION_ENTITIES],
  migrations: MIGRATIONS,
};
