import { AccountHealthProjection, INBOX_OUTBOX_ENTITIES, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { ESCALATION_ROUTING_ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export const ESCALATION_ROUTING_SCHEMA = 'escalation_routing';

export const escalationRoutingData: ServiceDataSpec = {
  schema: ESCALATION_ROUTING_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, AccountHealthProjection, ...ESCALATION_ROUTING_ENTITIES],
  migrations: MIGRATIONS,
};
