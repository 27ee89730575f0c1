import type { ServiceDataSpec } from '@kizuna/shared/persistence';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { healthScoringData } from '@kizuna/health-scoring/data-access';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { notificationData } from '@kizuna/notification/data-access';

/** Every service's data: its schema, entities and migrations (and where its migrations live). */
export const SERVICE_DATA: Record<string, { spec: ServiceDataSpec; migrationsDir: string }> = {
  ingestion: { spec: ingestionData, migrationsDir: 'libs/ingestion/data-access/src/lib/migrations' },
  'health-scoring': { spec: healthScoringData, migrationsDir: 'libs/health-scoring/data-access/src/lib/migrations' },
  lifecycle: { spec: lifecycleData, migrationsDir: 'libs/lifecycle/data-access/src/lib/migrations' },
  'escalation-routing': { spec: escalationRoutingData, migrationsDir: 'libs/escalation-routing/data-access/src/lib/migrations' },
  notification: { spec: notificationData, migrationsDir: 'libs/notification/data-access/src/lib/migrations' },
};
