import { InitNotificationSchema1795454403628 } from './1795454403628-init-notification-schema';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitNotificationSchema1795454403628];
