import { InitEscalationRoutingSchema1795454402824 } from './1795454402824-init-escalation-routing-schema';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitEscalationRoutingSchema1795454402824];
