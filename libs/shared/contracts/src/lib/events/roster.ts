import { IsBoolean, IsEmail, IsISO8601, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

/**
 * A CSM of escalation-routing's roster as it now stands (created or changed), keyed `csm:<csmId>`:
 * the latest event of a CSM is its whole current state, so the topic is compacted and a consumer
 * rebuilds who is in which team from it. Services that scope reads to a team (health-scoring,
 * lifecycle) project it to match accounts' owner CSM email against the team's members.
 */
export class RosterCsmChangedV1 {
  @IsString() @IsNotEmpty() @MaxLength(128) csmId!: string;
  /** Lower case: what accounts' ownerCsmEmail is matched against. */
  @IsEmail() email!: string;
  /** The CSM's team, or null when in none. */
  @IsOptional() @IsString() @MaxLength(128) teamId!: string | null;
  @IsBoolean() active!: boolean;
  /** When the roster changed (newer wins; an older event never overwrites). */
  @IsISO8601() changedAt!: string;
}
