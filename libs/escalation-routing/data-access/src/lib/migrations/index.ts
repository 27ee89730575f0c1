import { InitEscalationRoutingSchema1795454402824 } from './1795454402824-init-escalation-routing-schema';
import { AddEscalationsRosterRulesContext1796130722238 } from './1796130722238-add-escalations-roster-rules-context';
import { PublishRoster1796142000000 } from './1796142000000-publish-roster';
import { AddEngagementChanges1796500000000 } from './1796500000000-add-engagement-changes';
import { InboxReceivedIndex1796600000000 } from './1796600000000-inbox-received-index';
import { OutboxPublishedIndex1796800000000 } from './1796800000000-outbox-published-index';
import { OutboxJson1797100000000 } from './1797100000000-outbox-json';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitEscalationRoutingSchema1795454402824, AddEscalationsRosterRulesContext1796130722238, PublishRoster1796142000000, AddEngagementChanges1796500000000, InboxReceivedIndex1796600000000, OutboxPublishedIndex1796800000000, OutboxJson1797100000000];
