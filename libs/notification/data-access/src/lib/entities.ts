import { Column, CreateDateColumn, Entity, Generated, Index, PrimaryColumn, Unique } from 'typeorm';
import type { NotificationChannel } from '@kizuna/shared/contracts';
import type { EmailContent, NoticeContent, Priority } from '@kizuna/notification/domain';

/** What a notification says: the notice, or a play's e-mail rendered when it was planned. */
export type StoredContent = NoticeContent & { recipientName?: string; email?: EmailContent };

/** A webhook endpoint of a recipient; secrets are stored encrypted (NOTIFICATION_SECRET_KEY). */
export interface StoredWebhookEndpoint {
  id: string;
  url: string;
  /** AES-256-GCM sealed `whsec_…` secrets; two during a rotation. */
  secrets: string[];
  /** Triggers this endpoint receives (absent: every trigger whose channels include webhook). */
  triggers?: string[];
}

/** A CSM who receives notifications, with their preferences. Keyed by CSM id, unique by e-mail. */
@Entity({ name: 'recipient' })
export class Recipient {
  @PrimaryColumn({ name: 'csm_id', type: 'text' })
  csmId!: string;

  @Index('recipient_email_idx', { unique: true })
  @Column({ type: 'text' })
  email!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ name: 'time_zone', type: 'text', default: 'UTC' })
  timeZone!: string;

  /** "HH:MM" local; both null: no quiet hours. */
  @Column({ name: 'quiet_start', type: 'text', nullable: true })
  quietStart!: string | null;

  @Column({ name: 'quiet_end', type: 'text', nullable: true })
  quietEnd!: string | null;

  @Column({ name: 'digest_enabled', type: 'boolean', default: false })
  digestEnabled!: boolean;

  /** Local hour of the daily digest. */
  @Column({ name: 'digest_hour', type: 'integer', default: 9 })
  digestHour!: number;

  /** Channels per trigger; a trigger not listed uses its rule's channels. */
  @Column({ type: 'jsonb', default: {} })
  channels!: Partial<Record<string, NotificationChannel[]>>;

  @Column({ name: 'slack_webhook_url', type: 'text', nullable: true })
  slackWebhookUrl!: string | null;

  @Column({ type: 'jsonb', default: [] })
  webhooks!: StoredWebhookEndpoint[];

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/**
 * One notice to one recipient: the in-app inbox row (when in-app is among its channels) and the
 * parent of its deliveries. Unique per (trigger event, trigger, recipient): one event can fire two
 * triggers (a drop to danger that is also a large drop).
 */
@Entity({ name: 'notification' })
@Unique('notification_trigger_recipient_uq', ['triggerEventId', 'trigger', 'recipient'])
@Index('notification_inbox_idx', ['recipient', 'createdAt'])
export class NotificationRow {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'trigger_event_id', type: 'text' })
  triggerEventId!: string;

  @Column({ type: 'text' })
  trigger!: string;

  /** A CSM id, or `contact:<account>:<user>` for a play's customer contact. */
  @Column({ type: 'text' })
  recipient!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  priority!: Priority;

  @Column({ type: 'text' })
  title!: string;

  @Column({ type: 'jsonb' })
  content!: StoredContent;

  @Column({ name: 'in_app', type: 'boolean' })
  inApp!: boolean;

  @Column({ name: 'read_at', type: 'timestamptz', nullable: true })
  readAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export const DELIVERY_STATES = ['pending', 'sending', 'delivered', 'failed', 'dead-lettered'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** One attempt, as logged on the delivery. */
export interface DeliveryAttempt {
  at: string;
  outcome: 'delivered' | 'failed' | 'throttled' | 'skipped';
  response: string;
  durationMs: number;
}

/**
 * One notification on one channel (to one endpoint): created with its notification in the consumer's
 * transaction, sent by the delivery worker. The idempotency key (trigger event, trigger, recipient,
 * channel and endpoint) is unique, so a redelivered Kafka event never creates a second delivery.
 */
@Entity({ name: 'delivery' })
@Index('delivery_due_idx', ['nextAttemptAt'], { where: `status IN ('pending', 'failed', 'sending')` })
@Index('delivery_target_idx', ['targetKey', 'seq'])
@Index('delivery_status_idx', ['status', 'updatedAt'])
export class Delivery {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /** Creation order (a Slack webhook's messages go out in this order). */
  @Column({ type: 'bigint' })
  @Generated('increment')
  seq!: string;

  @Index('delivery_idempotency_uq', { unique: true })
  @Column({ name: 'idempotency_key', type: 'text' })
  idempotencyKey!: string;

  @Column({ name: 'notification_id', type: 'uuid' })
  notificationId!: string;

  @Column({ name: 'trigger_event_id', type: 'text' })
  triggerEventId!: string;

  @Column({ type: 'text' })
  trigger!: string;

  @Column({ type: 'text' })
  recipient!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  channel!: NotificationChannel;

  /** The e-mail address or URL. */
  @Column({ type: 'text' })
  address!: string;

  /** Rate limits, ordering and disabling apply per target (a Slack webhook, an endpoint, a mailbox). */
  @Column({ name: 'target_key', type: 'text' })
  targetKey!: string;

  /** The recipient's webhook endpoint id (webhook channel). */
  @Column({ name: 'endpoint_id', type: 'text', nullable: true })
  endpointId!: string | null;

  /** `digest`: collected with the recipient's other digest deliveries due at the same time. */
  @Column({ type: 'text', default: 'instant' })
  mode!: 'instant' | 'digest';

  @Column({ type: 'text' })
  status!: DeliveryState;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Answers of 429 (Retry-After honoured; they do not use up attempts). */
  @Column({ type: 'integer', default: 0 })
  throttled!: number;

  /** Held by quiet hours (or waiting for the digest) until next_attempt_at. */
  @Column({ type: 'boolean', default: false })
  held!: boolean;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil!: Date | null;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  /** The provider's last answer (SMTP reply, HTTP status and body excerpt). */
  @Column({ name: 'provider_response', type: 'text', nullable: true })
  providerResponse!: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'attempt_log', type: 'jsonb', default: [] })
  attemptLog!: DeliveryAttempt[];

  /** W3C trace context of the event that caused it: each send continues that trace. */
  @Column({ name: 'trace_headers', type: 'jsonb', nullable: true })
  traceHeaders!: Record<string, string> | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** Per target: when it may next be sent to (Slack pacing, Retry-After), and its failing streak. */
@Entity({ name: 'channel_target' })
export class ChannelTarget {
  @PrimaryColumn({ name: 'target_key', type: 'text' })
  targetKey!: string;

  @Column({ name: 'next_send_at', type: 'timestamptz', nullable: true })
  nextSendAt!: Date | null;

  /** First failure since the last success. */
  @Column({ name: 'failing_since', type: 'timestamptz', nullable: true })
  failingSince!: Date | null;

  /** Disabled after failing for NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS; a manual retry re-enables. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}

/** What notification knows of an account, from cs.directory.v1 and cs.lifecycle.v1. */
@Entity({ name: 'account_directory' })
export class AccountDirectory {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ name: 'owner_email', type: 'text', nullable: true })
  ownerEmail!: string | null;

  @Column({ name: 'touch_model', type: 'text', nullable: true })
  touchModel!: string | null;

  /** Segment per dimension (contract-size, usage-status, ...). */
  @Column({ type: 'jsonb', default: {} })
  segments!: Record<string, string>;

  /** When the account was first seen (feature-adoption plays count from it). */
  @Column({ name: 'first_seen_at', type: 'timestamptz' })
  firstSeenAt!: Date;

  /** Time of the latest directory update applied (older ones never win). */
  @Column({ name: 'directory_at', type: 'timestamptz', nullable: true })
  directoryAt!: Date | null;
}

/** A customer's user with an e-mail (cs.directory.user.identified.v1): the audience of plays. */
@Entity({ name: 'account_contact' })
export class AccountContact {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  email!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ type: 'text', nullable: true })
  role!: string | null;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin!: boolean;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** Product features an account has used (feature-adoption plays). */
@Entity({ name: 'account_feature_use' })
export class AccountFeatureUse {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'text' })
  feature!: string;

  @Column({ name: 'first_used_at', type: 'timestamptz' })
  firstUsedAt!: Date;
}

/** Contacts who opted out of plays (by e-mail, lower case). */
@Entity({ name: 'contact_opt_out' })
export class ContactOptOut {
  @PrimaryColumn({ type: 'text' })
  email!: string;

  @Column({ type: 'text' })
  via!: 'api' | 'unsubscribe-link';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** When a play last reached a contact (frequency cap). */
@Entity({ name: 'play_send' })
export class PlaySend {
  @PrimaryColumn({ name: 'play_id', type: 'text' })
  playId!: string;

  @PrimaryColumn({ type: 'text' })
  email!: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt!: Date;
}

/** Configuration as data: the trigger rules and the plays, each version kept. */
@Entity({ name: 'notification_setting' })
export class NotificationSetting {
  @PrimaryColumn({ type: 'text' })
  key!: 'trigger-rules' | 'plays';

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  value!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export const NOTIFICATION_ENTITIES = [
  Recipient, NotificationRow, Delivery, ChannelTarget, AccountDirectory, AccountContact, AccountFeatureUse, ContactOptOut, PlaySend, NotificationSetting,
];
