import { INBOX_OUTBOX_ENTITIES, RosterMemberProjection, type ServiceDataSpec } from '@kizuna/shared/persistence';
import {
  AccountDailyActivity, AccountEventUse, BackfillJob, AccountHealth, AccountProfile, AccountUserDay, BillingFact, HealthChange, HealthSetting,
  ScorecardRow, SupportFact, SurveyFact, EscalationFact, AccountSegment,
} from './entities';
import { MIGRATIONS } from './migrations';

export const HEALTH_SCORING_SCHEMA = 'health_scoring';

export const healthScoringData: ServiceDataSpec = {
  schema: HEALTH_SCORING_SCHEMA,
  entities: [
    ...INBOX_OUTBOX_ENTITIES, AccountDailyActivity, AccountHealth, AccountProfile, AccountUserDay, AccountEventUse,
    SupportFact, SurveyFact, BillingFact, EscalationFact, AccountSegment, ScorecardRow, HealthSetting, HealthChange, BackfillJob,
    RosterMemberProjection,
  ],
  migrations: MIGRATIONS,
};
