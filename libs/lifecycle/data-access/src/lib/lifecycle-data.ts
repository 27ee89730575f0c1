import { AccountHealthProjection, INBOX_OUTBOX_ENTITIES, RosterMemberProjection, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { AccountLifecycle, AccountMrrChange, LifecycleRulesRow, LifecycleSignalRow, LifecycleTransition, SurveyAnswerRow } from './entities';
import { MIGRATIONS } from './migrations';

export const LIFECYCLE_SCHEMA = 'lifecycle';

export const lifecycleData: ServiceDataSpec = {
  schema: LIFECYCLE_SCHEMA,
  entities: [...INBOX_OUTBOX_ENTITIES, AccountHealthProjection, AccountLifecycle, LifecycleSignalRow, LifecycleTransition, AccountMrrChange, SurveyAnswerRow, LifecycleRulesRow, RosterMemberProjection],
  migrations: MIGRATIONS,
  // A history rewritten by a late event can bring back a transition deleted before, under its
  // deterministic id: the published outbox row (kept a day) leaves it out instead of re-emitting it.
  outboxRetainMs: 24 * 3600 * 1000,
};
