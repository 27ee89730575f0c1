import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

const numeric = { to: (v: number) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * One row per account: the lifecycle machine's state (plain JSON, see AccountLifecycleState), the
 * derived values as columns for the list API, the horizon (the instant the state was last
 * evaluated at and the key of the signal evaluated then: a signal after it is applied, one before
 * it triggers a rebuild from the signal log) and the next time boundary for the scheduled tick.
 */
@Entity({ name: 'account_lifecycle' })
@Index('account_lifecycle_due_idx', ['nextDueAt'], { where: 'next_due_at IS NOT NULL' })
@Index('account_lifecycle_phase_idx', ['phase'])
export class AccountLifecycle {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'jsonb' })
  state!: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  phase!: string | null;

  @Column({ name: 'touch_model', type: 'text', nullable: true })
  touchModel!: string | null;

  /** dimension -> value. */
  @Column({ type: 'jsonb', default: {} })
  segments!: Record<string, string>;

  @Column({ name: 'renewal_date', type: 'timestamptz', nullable: true })
  renewalDate!: Date | null;

  @Column({ name: 'onboarding_started_at', type: 'timestamptz', nullable: true })
  onboardingStartedAt!: Date | null;

  @Column({ type: 'numeric', precision: 14, scale: 2, default: 0, transformer: numeric })
  mrr!: number;

  @Column({ name: 'horizon_at', type: 'timestamptz', precision: 3, nullable: true })
  horizonAt!: Date | null;

  @Column({ name: 'horizon_key', type: 'text', nullable: true })
  horizonKey!: string | null;

  /** The next instant the clock alone may change something (null: none). */
  @Column({ name: 'next_due_at', type: 'timestamptz', nullable: true })
  nextDueAt!: Date | null;

  /** Profile fields the machine does not need (latest by the update's timestamp). */
  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ name: 'owner_csm_email', type: 'text', nullable: true })
  ownerCsmEmail!: string | null;

  @Column({ name: 'profile_at', type: 'timestamptz', nullable: true })
  profileAt!: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /**
   * While a simulation steps the clock with LIFECYCLE_EVALUATE_ON_CLOCK_STEPS: the earliest stage
   * (count of stages closed when it arrived) of the signals logged and not yet applied; the tick at
   * a later close rebuilds the account from its log. Null otherwise.
   */
  @Index('account_lifecycle_pending_idx', { where: 'pending_step IS NOT NULL' })
  @Column({ name: 'pending_step', type: 'integer', nullable: true })
  pendingStep!: number | null;
}

/**
 * Every signal that reached an account, normalised, keyed by a natural id (unique per account):
 * the log a rebuild replays when a signal arrives out of order. Product activity is compressed to
 * the first and last event of each UTC day (and of each milestone event per day).
 */
@Entity({ name: 'lifecycle_signal' })
export class LifecycleSignalRow {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ type: 'timestamptz', precision: 3 })
  at!: Date;

  @Column({ type: 'jsonb' })
  signal!: Record<string, unknown>;

  /** The stage (count of stages closed) in which it was logged or last changed, while a simulation steps the clock with LIFECYCLE_EVALUATE_ON_CLOCK_STEPS; null otherwise. */
  @Column({ type: 'integer', nullable: true })
  step!: number | null;
}

/**
 * Every output of the machine, dated in event time: phase, touch model and segment changes with
 * their cause, renewal windows opened and onboarding stalls. `event_id` is the deterministic id
 * of the cs.lifecycle.v1 event it was emitted as. A rebuild rewrites an account's rows.
 */
@Entity({ name: 'lifecycle_transition' })
@Index('lifecycle_transition_account_idx', ['accountId', 'kind', 'at'])
@Index('lifecycle_transition_kind_at_idx', ['kind', 'at'])
export class LifecycleTransition {
  /** bigint, as a string. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  /** 'phase' | 'touch-model' | 'segment' | 'renewal-window' | 'onboarding-stalled'. */
  @Column({ type: 'text' })
  kind!: string;

  /** Segment dimension (segment changes), milestone (stalls), else null. */
  @Column({ type: 'text', nullable: true })
  dimension!: string | null;

  @Column({ name: 'from_value', type: 'text', nullable: true })
  fromValue!: string | null;

  @Column({ name: 'to_value', type: 'text', nullable: true })
  toValue!: string | null;

  @Column({ type: 'timestamptz', precision: 3 })
  at!: Date;

  @Column({ type: 'text', nullable: true })
  cause!: string | null;

  @Column({ name: 'event_id', type: 'text', unique: true })
  eventId!: string;

  /** The event payload as emitted. */
  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;
}

/** Each account's MRR after every change, dated in event time (0 once churned): NRR, GRR, revenue churn. */
@Entity({ name: 'account_mrr_change' })
export class AccountMrrChange {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'timestamptz', precision: 3 })
  at!: Date;

  @Column({ type: 'numeric', precision: 14, scale: 2, transformer: numeric })
  mrr!: number;
}

/** NPS and CSAT answers (NPS, CSAT KPIs). */
@Entity({ name: 'survey_answer' })
@Index('survey_answer_answered_idx', ['answeredAt'])
export class SurveyAnswerRow {
  /** `<sourceId>:<responseId>`. */
  @PrimaryColumn({ name: 'response_key', type: 'text' })
  responseKey!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'integer' })
  score!: number;

  @Column({ name: 'answered_at', type: 'timestamptz' })
  answeredAt!: Date;
}

/** Lifecycle rules, versioned: the highest version is in force. */
@Entity({ name: 'lifecycle_rules' })
export class LifecycleRulesRow {
  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  rules!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
