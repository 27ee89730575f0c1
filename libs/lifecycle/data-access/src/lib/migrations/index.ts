import { InitLifecycleSchema1795454401964 } from './1795454401964-init-lifecycle-schema';
import { LifecycleMachineState1796130623388 } from './1796130623388-lifecycle-machine-state';
import { DropAccountActivity1796130623389 } from './1796130623389-drop-account-activity';
import { AddRosterMemberProjection1796141901626 } from './1796141901626-add-roster-member-projection';
import { LifecycleStepStaging1796167009510 } from './1796167009510-lifecycle-step-staging';
import { InboxReceivedIndex1796600000000 } from './1796600000000-inbox-received-index';
import { OutboxPublishedIndex1796800000000 } from './1796800000000-outbox-published-index';
import { OutboxJson1797100000000 } from './1797100000000-outbox-json';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitLifecycleSchema1795454401964, LifecycleMachineState1796130623388, DropAccountActivity1796130623389, AddRosterMemberProjection1796141901626, LifecycleStepStaging1796167009510, InboxReceivedIndex1796600000000, OutboxPublishedIndex1796800000000, OutboxJson1797100000000];
