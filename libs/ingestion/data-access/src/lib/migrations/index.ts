import { InitIngestionSchema1795454400344 } from './1795454400344-init-ingestion-schema';
import { AddSourcesDedupAndAttribution1795455732724 } from './1795455732724-add-sources-dedup-and-attribution';
import { AddSupportIntake1795456121438 } from './1795456121438-add-support-intake';
import { UniquePendingMessage1795456898991 } from './1795456898991-unique-pending-message';
import { InboxReceivedIndex1796600000000 } from './1796600000000-inbox-received-index';
import { OutboxPublishedIndex1796800000000 } from './1796800000000-outbox-published-index';
import { OutboxJson1797100000000 } from './1797100000000-outbox-json';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitIngestionSchema1795454400344, AddSourcesDedupAndAttribution1795455732724, AddSupportIntake1795456121438, UniquePendingMessage1795456898991, InboxReceivedIndex1796600000000, OutboxPublishedIndex1796800000000, OutboxJson1797100000000];
