import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { OnEvent, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce, projectRosterMember } from '@kizuna/shared/persistence';

/**
 * Keeps the service's copy of the roster (`roster_member_projection`: each CSM's e-mail and team,
 * from `cs.roster.v1`), for team-wide scoping of account reads. A service that scopes by team adds
 * this provider and `RosterMemberProjection` to its entities (with a migration).
 */
@Injectable()
export class RosterProjector {
  constructor(private readonly ds: DataSource) {}

  @OnEvent('cs.roster.csm.changed.v1')
  async onCsm(e: CloudEvent<'cs.roster.csm.changed.v1'>, ctx: MessageContext): Promise<void> {
    await processOnce(this.ds, ctx.group, e, (m) => projectRosterMember(m, e));
  }
}
