import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { HealthBand } from '@kizuna/shared/contracts';
import { storedFeatures } from './stored-features';

const numeric = { to: (v: number) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/** Product events per account per UTC day: the base of the rolling engagement windows. */
@Entity({ name: 'account_daily_activity' })
export class AccountDailyActivity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'date' })
  day!: string;

  @Column({ type: 'integer', default: 0 })
  events!: number;
}

/** Each account's current health as health-scoring last computed it. */
@Entity({ name: 'account_health' })
export class AccountHealth {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'numeric', precision: 5, scale: 2, transformer: numeric })
  score!: number;

  @Column({ type: 'text' })
  band!: HealthBand;

  @Column({ name: 'scorecard_id', type: 'text' })
  scorecardId!: string;

  @Column({ name: 'scorecard_version', type: 'integer' })
  scorecardVersion!: number;

  @Column({ name: 'computed_at', type: 'timestamptz' })
  computedAt!: Date;

  /** The event that caused the latest computation. */
  @Column({ name: 'last_event_id', type: 'text' })
  lastEventId!: string;

  /** The segment whose scorecard was applied. */
  @Column({ type: 'text', nullable: true })
  segment!: string | null;

  /**
   * The features the account was scored on. With the scorecard version (immutable) and computedAt
   * they give back the whole explanation (scoreAccount is pure), so it is recomputed on read.
   * Stored as a float8[] in STORED_FEATURE_ORDER (a third of the bytes of a jsonb object).
   */
  @Column({ type: 'double precision', array: true, transformer: storedFeatures })
  features!: Record<string, number | null | undefined>;

  /** The score and band of the last emitted change (HEALTH_MIN_DELTA compares against it). */
  @Column({ name: 'emitted_score', type: 'numeric', precision: 5, scale: 2, nullable: true, transformer: numeric })
  emittedScore!: number | null;

  @Column({ name: 'emitted_band', type: 'text', nullable: true })
  emittedBand!: HealthBand | null;
}

/** What health-scoring knows of an account from directory and billing events. */
@Entity({ name: 'account_profile' })
export class AccountProfile {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ type: 'text', nullable: true })
  plan!: string | null;

  @Column({ type: 'numeric', nullable: true, transformer: numeric })
  arr!: number | null;

  @Column({ name: 'seats_purchased', type: 'integer', nullable: true })
  seatsPurchased!: number | null;

  /** The owner CSM (directory trait ownerCsmEmail, lower case): scopes a CSM's reads to their book. */
  @Column({ name: 'owner_csm_email', type: 'text', nullable: true })
  ownerCsmEmail!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** A user active on a day (active users and session-days over rolling windows). */
@Entity({ name: 'account_user_day' })
export class AccountUserDay {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'date' })
  day!: string;

  @PrimaryColumn({ name: 'user_key', type: 'text' })
  userKey!: string;
}

/** Product events (by name) an account used, and when last. */
@Entity({ name: 'account_event_use' })
export class AccountEventUse {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'text' })
  event!: string;

  @Column({ name: 'first_used_at', type: 'timestamptz' })
  firstUsedAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz' })
  lastUsedAt!: Date;
}

/** Support contacts as they stand (newest version wins). */
@Entity({ name: 'support_fact' })
@Index('support_fact_account_idx', ['accountId', 'openedAt'])
export class SupportFact {
  /** "ticket" or "call". */
  @PrimaryColumn({ type: 'text' })
  kind!: string;

  @PrimaryColumn({ type: 'text' })
  ref!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt!: Date;

  @Column({ name: 'reopened_count', type: 'integer', default: 0 })
  reopenedCount!: number;

  /** Low satisfaction (<= 2) or negative sentiment (<= -0.5). */
  @Column({ type: 'boolean', default: false })
  negative!: boolean;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** NPS and CSAT answers. */
@Entity({ name: 'survey_fact' })
@Index('survey_fact_account_idx', ['accountId', 'answeredAt'])
export class SurveyFact {
  @PrimaryColumn({ name: 'response_id', type: 'text' })
  responseId!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'integer' })
  score!: number;

  @Column({ name: 'answered_at', type: 'timestamptz' })
  answeredAt!: Date;
}

/** Billing changes (payment failures, downgrades...). */
@Entity({ name: 'billing_fact' })
@Index('billing_fact_account_idx', ['accountId', 'effectiveAt'])
export class BillingFact {
  @PrimaryColumn({ name: 'change_id', type: 'text' })
  changeId!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  change!: string;

  @Column({ name: 'effective_at', type: 'timestamptz' })
  effectiveAt!: Date;
}

/** Escalations as escalation-routing reports them (newest change wins): open ones cost health. */
@Entity({ name: 'escalation_fact' })
@Index('escalation_fact_account_idx', ['accountId'])
export class EscalationFact {
  @PrimaryColumn({ name: 'escalation_id', type: 'text' })
  escalationId!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'text' })
  state!: string;

  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt!: Date;
}

/** The contract-size segment lifecycle decided for the account (it picks the scorecard). */
@Entity({ name: 'account_segment' })
export class AccountSegment {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'contract_size', type: 'text' })
  contractSize!: string;

  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt!: Date;
}

/** Scorecards, versioned: every version kept; the highest version of an id is the active one. */
@Entity({ name: 'scorecard' })
export class ScorecardRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  definition!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** Health settings as data: key features and value milestones (event names). */
@Entity({ name: 'health_setting' })
export class HealthSetting {
  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ type: 'jsonb' })
  value!: unknown;
}

/** Every emitted change of an account's health (history). */
@Entity({ name: 'health_change' })
@Index('health_change_account_idx', ['accountId', 'computedAt'])
export class HealthChange {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ type: 'numeric', precision: 5, scale: 2, transformer: numeric })
  score!: number;

  @Column({ type: 'text' })
  band!: HealthBand;

  @Column({ name: 'previous_score', type: 'numeric', precision: 5, scale: 2, nullable: true, transformer: numeric })
  previousScore!: number | null;

  @Column({ name: 'previous_band', type: 'text', nullable: true })
  previousBand!: HealthBand | null;

  @Column({ name: 'scorecard_id', type: 'text' })
  scorecardId!: string;

  @Column({ name: 'scorecard_version', type: 'integer' })
  scorecardVersion!: number;

  /** topMovers' array, as JSON text (written once, read as text by the relay). */
  @Column({ type: 'json' })
  movers!: unknown;

  @Column({ name: 'computed_at', type: 'timestamptz' })
  computedAt!: Date;

  /**
   * The backfill range that wrote the change: its events are published through one outbox row
   * naming it (HEALTH_CHANGES_EXPANSION) instead of one outbox row each. Null for streaming changes.
   */
  @Column({ name: 'outbox_batch', type: 'uuid', nullable: true })
  outboxBatch!: string | null;
}

/** A backfill (or dry run) of every account scored with a scorecard: progress kept, resumable. */
@Entity({ name: 'backfill_job' })
export class BackfillJob {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'scorecard_id', type: 'text' })
  scorecardId!: string;

  @Column({ name: 'scorecard_version', type: 'integer' })
  scorecardVersion!: number;

  @Column({ name: 'dry_run', type: 'boolean' })
  dryRun!: boolean;

  /** running | done | failed */
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'integer' })
  total!: number;

  @Column({ type: 'integer', default: 0 })
  processed!: number;

  /** The last account id done: a restarted job resumes after it. */
  @Column({ type: 'text', default: '' })
  cursor!: string;

  /** Accounts per band before and after. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  before!: Record<string, number>;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  after!: Record<string, number>;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
