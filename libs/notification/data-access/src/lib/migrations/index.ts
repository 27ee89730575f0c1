import { InitNotificationSchema1795454403628 } from './1795454403628-init-notification-schema';
import { AddChannelsDeliveriesPreferencesPlays1796133127154 } from './1796133127154-add-channels-deliveries-preferences-plays';
import { InboxReceivedIndex1796600000000 } from './1796600000000-inbox-received-index';
import { OutboxPublishedIndex1796800000000 } from './1796800000000-outbox-published-index';
import { OutboxJson1797100000000 } from './1797100000000-outbox-json';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitNotificationSchema1795454403628, AddChannelsDeliveriesPreferencesPlays1796133127154, InboxReceivedIndex1796600000000, OutboxPublishedIndex1796800000000, OutboxJson1797100000000];
