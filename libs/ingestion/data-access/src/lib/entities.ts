import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** A system that sends data (an app's SDKs, a help desk, a billing system). */
@Entity({ name: 'source' })
export class Source {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** A revoked source's keys stop working (within the key cache's TTL, 30 s). */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

/** A write key of a source, stored only as its SHA-256 (keys are random, 192 bits). */
@Entity({ name: 'source_key' })
export class SourceKey {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Index('source_key_source_idx')
  @Column({ name: 'source_id', type: 'text' })
  sourceId!: string;

  @Index('source_key_hash_idx', { unique: true })
  @Column({ name: 'key_hash', type: 'text' })
  keyHash!: string;

  /** The last characters, to tell keys apart in listings. */
  @Column({ type: 'text' })
  hint!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Set by a rotation with a grace period, or a revocation: the key works until then. */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;
}

/**
 * (source, natural id) of support, survey and billing records seen in the last 24 h: a retried
 * delivery is accepted and counted once. (Segment calls are deduplicated in memory and by their
 * deterministic event id.)
 */
@Entity({ name: 'received_message' })
@Index('received_message_time_idx', ['receivedAt'])
export class ReceivedMessage {
  @PrimaryColumn({ name: 'source_id', type: 'text' })
  sourceId!: string;

  @PrimaryColumn({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}

/** The account a user (or anonymous id) was last associated with by a `group` call. */
@Entity({ name: 'user_account' })
export class UserAccount {
  @PrimaryColumn({ name: 'source_id', type: 'text' })
  sourceId!: string;

  /** "u:<userId>" or "a:<anonymousId>". */
  @PrimaryColumn({ name: 'user_key', type: 'text' })
  userKey!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** An accepted message whose account is not known yet: attributed when the user's group call arrives. */
@Entity({ name: 'pending_event' })
@Index('pending_event_message_idx', ['sourceId', 'messageId'], { unique: true })
@Index('pending_event_expiry_idx', ['expiresAt'])
export class PendingEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'source_id', type: 'text' })
  sourceId!: string;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ name: 'user_keys', type: 'text', array: true })
  userKeys!: string[];

  /** The validated Segment message. */
  @Column({ type: 'jsonb' })
  message!: Record<string, unknown>;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}

/** A webhook signing secret of a source (e.g. Zendesk's), encrypted at rest (AES-256-GCM). */
@Entity({ name: 'source_secret' })
@Index('source_secret_source_idx', ['sourceId'])
export class SourceSecret {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'source_id', type: 'text' })
  sourceId!: string;

  /** base64(iv | tag | ciphertext). */
  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc!: string;

  @Column({ type: 'text' })
  hint!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Set when a newer secret replaces it: both verify until then (rotation). */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;
}

/** E-mail domains registered for an account (group traits `domain`, `domains`, `website`). */
@Entity({ name: 'account_domain' })
export class AccountDomain {
  @PrimaryColumn({ type: 'text' })
  domain!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** Known contacts' e-mails (identify traits `email` of an attributed user). */
@Entity({ name: 'contact' })
export class Contact {
  @PrimaryColumn({ type: 'text' })
  email!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** Support records (tickets, calls, survey answers) whose account is not known yet: listed, matched later. */
@Entity({ name: 'unmatched_record' })
@Index('unmatched_record_email_idx', ['email'])
@Index('unmatched_record_domain_idx', ['domain'])
export class UnmatchedRecord {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'source_id', type: 'text' })
  sourceId!: string;

  /** ticket | call | survey */
  @Column({ type: 'text' })
  kind!: string;

  /** The record's own id (ticket id, contact id, response id). */
  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ type: 'text', nullable: true })
  email!: string | null;

  @Column({ type: 'text', nullable: true })
  domain!: string | null;

  /** The contract payload without its accountId, ready to publish once matched. */
  @Column({ type: 'jsonb' })
  draft!: Record<string, unknown>;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}

/** The newest version of each call-center contact record seen (newest lastUpdatedAt wins). */
@Entity({ name: 'call_record_state' })
export class CallRecordState {
  @PrimaryColumn({ name: 'source_id', type: 'text' })
  sourceId!: string;

  @PrimaryColumn({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ name: 'last_updated_at', type: 'timestamptz' })
  lastUpdatedAt!: Date;
}
