import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

const numeric = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * Support contacts (tickets and calls) per account, as escalation rules and support KPIs need
 * them: category, subject and sentiment, first response and resolution (newest version wins).
 */
@Entity({ name: 'support_contact' })
@Index('support_contact_account_time_idx', ['accountId', 'occurredAt'])
export class SupportContact {
  /** "ticket" or "call". */
  @PrimaryColumn({ type: 'text' })
  kind!: string;

  /** The ticket id or the call's contact id. */
  @PrimaryColumn({ type: 'text' })
  ref!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text', nullable: true })
  category!: string | null;

  @Column({ name: 'needs_cs', type: 'boolean', default: false })
  needsCs!: boolean;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  /** The newest version of the record seen (tickets and calls are updated in place). */
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags!: string[];

  /** Ticket subject, or the call's queue / disposition: the text a CSM reads. */
  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ type: 'text', nullable: true })
  channel!: string | null;

  @Column({ type: 'text', nullable: true })
  status!: string | null;

  @Column({ type: 'text', nullable: true })
  priority!: string | null;

  /** Calls: -1 .. 1. */
  @Column({ type: 'numeric', precision: 4, scale: 3, nullable: true, transformer: numeric })
  sentiment!: number | null;

  /** Tickets: CSAT 1..5. */
  @Column({ type: 'smallint', nullable: true })
  satisfaction!: number | null;

  /** Tickets: the first version seen leaving "new" after creation (calls: when answered, i.e. started). */
  @Column({ name: 'first_response_at', type: 'timestamptz', nullable: true })
  firstResponseAt!: Date | null;

  /** Tickets: the first version seen solved or closed (calls: ended). */
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt!: Date | null;
}

/** What escalation-routing knows of each account, from cs.directory.v1, cs.health.v1 and cs.lifecycle.v1. */
@Entity({ name: 'account_context' })
export class AccountContextRow {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ type: 'numeric', precision: 14, scale: 2, nullable: true, transformer: numeric })
  arr!: number | null;

  @Column({ type: 'text', nullable: true })
  region!: string | null;

  @Column({ name: 'owner_csm_email', type: 'text', nullable: true })
  ownerCsmEmail!: string | null;

  @Column({ type: 'text', nullable: true })
  plan!: string | null;

  @Column({ name: 'directory_at', type: 'timestamptz', nullable: true })
  directoryAt!: Date | null;

  /** Health top movers of the latest computation ({component, measure, deltaPoints}). */
  @Column({ name: 'top_movers', type: 'jsonb', default: () => "'[]'" })
  topMovers!: { component: string; measure: string; deltaPoints: number }[];

  @Column({ name: 'health_at', type: 'timestamptz', nullable: true })
  healthAt!: Date | null;

  /**
   * The engagement points of each health change of the last 28 days ({at, delta}: the sum of its
   * engagement movers), so the usage-stalled rule sees a decline spread over many small changes.
   */
  @Column({ name: 'engagement_changes', type: 'jsonb', default: () => "'[]'" })
  engagementChanges!: { at: string; delta: number }[];

  @Column({ type: 'text', nullable: true })
  phase!: string | null;

  @Column({ name: 'phase_at', type: 'timestamptz', nullable: true })
  phaseAt!: Date | null;

  @Column({ name: 'touch_model', type: 'text', nullable: true })
  touchModel!: string | null;

  @Column({ name: 'touch_model_at', type: 'timestamptz', nullable: true })
  touchModelAt!: Date | null;

  @Column({ name: 'usage_status', type: 'text', nullable: true })
  usageStatus!: string | null;

  @Column({ name: 'usage_status_at', type: 'timestamptz', nullable: true })
  usageStatusAt!: Date | null;

  /** When lifecycle reported onboarding stalled; cleared when the account leaves onboarding later. */
  @Column({ name: 'onboarding_stalled_at', type: 'timestamptz', nullable: true })
  onboardingStalledAt!: Date | null;
}

@Entity({ name: 'csm' })
@Index('csm_email_idx', ['email'], { unique: true })
export class CsmRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Lower-cased. */
  @Column({ type: 'text' })
  email!: string;

  @Column({ type: 'text', nullable: true })
  region!: string | null;

  @Column({ name: 'team_id', type: 'text', nullable: true })
  teamId!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  specialties!: string[];

  @Column({ type: 'integer' })
  capacity!: number;

  @Column({ type: 'boolean' })
  active!: boolean;

  @Column({ name: 'out_of_office_from', type: 'timestamptz', nullable: true })
  outOfOfficeFrom!: Date | null;

  @Column({ name: 'out_of_office_to', type: 'timestamptz', nullable: true })
  outOfOfficeTo!: Date | null;

  /** [{type: email|slack|webhook|in-app, target}] */
  @Column({ name: 'notification_channels', type: 'jsonb', default: () => "'[]'" })
  notificationChannels!: { type: string; target: string }[];

  /** Round robin among equally loaded CSMs: the one waiting longest goes first. */
  @Column({ name: 'last_assigned_at', type: 'timestamptz', nullable: true })
  lastAssignedAt!: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ name: 'team' })
export class TeamRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  region!: string;

  @Column({ name: 'lead_csm_id', type: 'text', nullable: true })
  leadCsmId!: string | null;

  /** {timeZone, days, start, end} */
  @Column({ name: 'business_hours', type: 'jsonb' })
  businessHours!: { timeZone: string; days: number[]; start: string; end: string };

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** Every version of the rule set (the highest is in force). */
@Entity({ name: 'escalation_rules' })
export class EscalationRulesRow {
  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  definition!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;
}

/** One escalation: at most one open per account and reason (partial unique index). */
@Entity({ name: 'escalation' })
@Index('escalation_open_reason_idx', ['accountId', 'reason'], { unique: true, where: `state IN ('open', 'assigned', 'acknowledged')` })
@Index('escalation_account_idx', ['accountId', 'openedAt'])
@Index('escalation_assignee_idx', ['assigneeCsmId', 'state'])
@Index('escalation_ack_due_idx', ['ackDueAt'], { where: `state IN ('open', 'assigned')` })
export class EscalationRow {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  reason!: string;

  /** The rule that opened it ("manual" for the API). */
  @Column({ type: 'text' })
  rule!: string;

  @Column({ name: 'rules_version', type: 'integer', nullable: true })
  rulesVersion!: number | null;

  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'text' })
  priority!: string;

  @Column({ name: 'assignee_csm_id', type: 'text', nullable: true })
  assigneeCsmId!: string | null;

  @Column({ name: 'team_id', type: 'text', nullable: true })
  teamId!: string | null;

  /** Why the current assignee (the routing decision). */
  @Column({ name: 'routing_why', type: 'text', nullable: true })
  routingWhy!: string | null;

  /** Why it was opened (the rule's explanation). */
  @Column({ name: 'opened_why', type: 'text' })
  openedWhy!: string;

  @Column({ name: 'opened_by', type: 'text' })
  openedBy!: string;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt!: Date;

  @Column({ name: 'assigned_at', type: 'timestamptz', nullable: true })
  assignedAt!: Date | null;

  @Column({ name: 'ack_due_at', type: 'timestamptz', nullable: true })
  ackDueAt!: Date | null;

  @Column({ name: 'acknowledged_at', type: 'timestamptz', nullable: true })
  acknowledgedAt!: Date | null;

  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  resolution!: string | null;

  @Column({ name: 'hand_back_note', type: 'text', nullable: true })
  handBackNote!: string | null;

  @Column({ name: 'sla_breached_at', type: 'timestamptz', nullable: true })
  slaBreachedAt!: Date | null;

  @Column({ name: 'breach_count', type: 'integer', default: 0 })
  breachCount!: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ name: 'escalation_evidence' })
@Index('escalation_evidence_ref_idx', ['escalationId', 'kind', 'ref'], { unique: true })
export class EscalationEvidenceRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'escalation_id', type: 'uuid' })
  escalationId!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  ref!: string;

  @Column({ type: 'text' })
  summary!: string;

  /** When the evidence happened (the ticket's creation, the call, the answer). */
  @Column({ type: 'timestamptz' })
  at!: Date;

  /** The rule that attached it and why. */
  @Column({ type: 'text' })
  rule!: string;

  @Column({ type: 'text' })
  why!: string;

  @Column({ name: 'added_at', type: 'timestamptz' })
  addedAt!: Date;
}

/** Every change of an escalation: who, when, what. */
@Entity({ name: 'escalation_audit' })
@Index('escalation_audit_escalation_idx', ['escalationId', 'seq'])
export class EscalationAuditRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'escalation_id', type: 'uuid' })
  escalationId!: string;

  @Column({ type: 'timestamptz' })
  at!: Date;

  /** A user id from x-kizuna-actor, or "system" (rules, routing, SLA sweeps). */
  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'jsonb' })
  detail!: Record<string, unknown>;
}

export const ESCALATION_ROUTING_ENTITIES = [
  SupportContact, AccountContextRow, CsmRow, TeamRow, EscalationRulesRow, EscalationRow, EscalationEvidenceRow, EscalationAuditRow,
];
