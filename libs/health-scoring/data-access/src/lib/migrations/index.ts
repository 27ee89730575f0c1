import { InitHealthScoringSchema1795454401110 } from './1795454401110-init-health-scoring-schema';
import { AddDearFactsScorecardsHistory1795459065306 } from './1795459065306-add-dear-facts-scorecards-history';
import { AddBackfillJobs1795460210036 } from './1795460210036-add-backfill-jobs';
import { AddEscalationFactsAndSegment1796132996131 } from './1796132996131-add-escalation-facts-and-segment';
import { AddProfileOwnerCsmEmail1796133195359 } from './1796133195359-add-profile-owner-csm-email';
import { AddRosterMemberProjection1796141898830 } from './1796141898830-add-roster-member-projection';
import { CompactAccountHealth1796400000000 } from './1796400000000-compact-account-health';
import { AccountHealthFillfactor1796500000000 } from './1796500000000-account-health-fillfactor';
import { InboxReceivedIndex1796600000000 } from './1796600000000-inbox-received-index';
import { HealthChangeOutboxBatch1796700000000 } from './1796700000000-health-change-outbox-batch';
import { OutboxPublishedIndex1796800000000 } from './1796800000000-outbox-published-index';
import { AccountHealthFeaturesArray1796900000000 } from './1796900000000-account-health-features-array';
import { HealthChangeMoversJson1797000000000 } from './1797000000000-health-change-movers-json';
import { OutboxJson1797100000000 } from './1797100000000-outbox-json';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitHealthScoringSchema1795454401110, AddDearFactsScorecardsHistory1795459065306, AddBackfillJobs1795460210036, AddEscalationFactsAndSegment1796132996131, AddProfileOwnerCsmEmail1796133195359, AddRosterMemberProjection1796141898830, CompactAccountHealth1796400000000, AccountHealthFillfactor1796500000000, InboxReceivedIndex1796600000000, HealthChangeOutboxBatch1796700000000, OutboxPublishedIndex1796800000000, AccountHealthFeaturesArray1796900000000, HealthChangeMoversJson1797000000000, OutboxJson1797100000000];
