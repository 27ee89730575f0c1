import { InitLifecycleSchema1795454401964 } from './1795454401964-init-lifecycle-schema';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitLifecycleSchema1795454401964];
