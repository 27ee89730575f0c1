import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Support contacts (tickets and calls) per account, as escalation rules need them
 * (e.g. repeat inquiries: N contacts in the same category within D days).
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
}
