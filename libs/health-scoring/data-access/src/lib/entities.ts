import { Column, Entity, PrimaryColumn } from 'typeorm';
import { HealthBand } from '@kizuna/shared/contracts';

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
}
