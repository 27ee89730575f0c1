import { INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { AccountDailyActivity, AccountHealth } from './entities';
import { MIGRATIONS } from './migrations';

export const HEALTH_SCORING_SCHEMA = 'health_scoring';

export const healthScoringData: ServiceDataSpec = {
  schema: HEALTH_SCORING_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, AccountDailyActivity, AccountHealth],
  migrations: MIGRATIONS,
};
