import { AccountHealthProjection, INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { SupportContact } from './entities';
import { MIGRATIONS } from './migrations';

export const ESCALATION_ROUTING_SCHEMA = 'escalation_routing';

export const escalationRoutingData: ServiceDataSpec = {
  schema: ESCALATION_ROUTING_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, AccountHealthProjection, SupportContact],
  migrations: MIGRATIONS,
};
