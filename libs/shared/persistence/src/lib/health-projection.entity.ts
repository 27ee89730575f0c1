import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { HealthBand, type CloudEvent } from '@kizuna/shared/contracts';

/**
 * A service's own copy of each account's latest health, built from `cs.health.v1`.
 * Services that need health (lifecycle, escalation-routing, notification) keep this table in
 * their own schema instead of asking health-scoring.
 */
@Entity({ name: 'account_health_projection' })
export class AccountHealthProjection {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'numeric', precision: 5, scale: 2, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  score!: number;

  @Column({ type: 'text' })
  band!: HealthBand;

  @Column({ name: 'previous_band', type: 'text', nullable: true })
  previousBand!: HealthBand | null;

  @Column({ name: 'scorecard_version', type: 'integer' })
  scorecardVersion!: number;

  /** When health-scoring computed it (events may arrive out of order: older ones never win). */
  @Column({ name: 'computed_at', type: 'timestamptz' })
  computedAt!: Date;

  @Column({ name: 'source_event_id', type: 'text' })
  sourceEventId!: string;
}

/** Upserts the projection from a health event; an older computation never overwrites a newer one. */
export async function projectHealth(manager: EntityManager, event: CloudEvent<'cs.health.score.changed.v1'>): Promise<void> {
  const d = event.data;
  await manager
    .createQueryBuilder()
    .insert()
    .into(AccountHealthProjection)
    .values({
      accountId: event.subject,
      score: d.score,
      band: d.band,
      previousBand: d.previousBand ?? null,
      scorecardVersion: d.scorecardVersion,
      computedAt: new Date(d.computedAt),
      sourceEventId: event.id,
    })
    .orUpdate(
      ['score', 'band', 'previous_band', 'scorecard_version', 'computed_at', 'source_event_id'],
      ['account_id'],
      { overwriteCondition: { where: 'account_health_projection.computed_at <= EXCLUDED.computed_at' } },
    )
    .execute();
}
