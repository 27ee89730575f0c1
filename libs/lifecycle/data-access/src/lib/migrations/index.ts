import { InitLifecycleSchema1795454401964 } from './1795454401964-init-lifecycle-schema';
import { LifecycleMachineState1796130623388 } from './1796130623388-lifecycle-machine-state';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitLifecycleSchema1795454401964, LifecycleMachineState1796130623388];
