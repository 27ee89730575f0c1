import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Product activity per account as lifecycle needs it (usage status: new / active / dormant). */
@Entity({ name: 'account_activity' })
export class AccountActivity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'first_seen_at', type: 'timestamptz' })
  firstSeenAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  @Column({ name: 'events_total', type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  eventsTotal!: number;
}
