import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';

/**
 * A service's own copy of the roster's CSMs (e-mail and team), built from `cs.roster.v1`
 * (escalation-routing owns the roster). Services that scope account reads to a team (health-scoring,
 * lifecycle) match an account's owner CSM email against the e-mails of the caller's team here.
 */
@Entity({ name: 'roster_member_projection' })
@Index('roster_member_projection_team_idx', ['teamId', 'email'])
export class RosterMemberProjection {
  @PrimaryColumn({ name: 'csm_id', type: 'text' })
  csmId!: string;

  /** Lower case, as accounts' owner_csm_email. */
  @Column({ type: 'text' })
  email!: string;

  @Column({ name: 'team_id', type: 'text', nullable: true })
  teamId!: string | null;

  @Column({ type: 'boolean' })
  active!: boolean;

  /** When the roster changed (events of one CSM arrive in order; an older one never overwrites). */
  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt!: Date;

  @Column({ name: 'source_event_id', type: 'text' })
  sourceEventId!: string;
}

/** Upserts the projection from a roster event; an older change never overwrites a newer one. */
export async function projectRosterMember(manager: EntityManager, event: CloudEvent<'cs.roster.csm.changed.v1'>): Promise<void> {
  const d = event.data;
  await manager
    .createQueryBuilder()
    .insert()
    .into(RosterMemberProjection)
    .values({ csmId: d.csmId, email: d.email.toLowerCase(), teamId: d.teamId ?? null, active: d.active, changedAt: new Date(d.changedAt), sourceEventId: event.id })
    .orUpdate(['email', 'team_id', 'active', 'changed_at', 'source_event_id'], ['csm_id'], {
      overwriteCondition: { where: 'roster_member_projection.changed_at <= EXCLUDED.changed_at' },
    })
    .execute();
}

/**
 * The SQL condition "the account's owner is the caller or a member of the caller's team", on an
 * owner e-mail column (lower case), with the caller's e-mail as `$emailParam` and team as
 * `$teamParam` (either may be null: then that half matches nothing). Parameters only, no text spliced.
 */
export function ownerInBookOrTeamSql(ds: DataSource, ownerColumn: string, emailParam: number, teamParam: number): string {
  const roster = ds.getMetadata(RosterMemberProjection).tablePath;
  return `(${ownerColumn} = $${emailParam}::text OR ($${teamParam}::text IS NOT NULL AND ${ownerColumn} IN (SELECT r.email FROM ${roster} r WHERE r.team_id = $${teamParam}::text)))`;
}
