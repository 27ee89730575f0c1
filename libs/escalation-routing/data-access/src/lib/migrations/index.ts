import { InitEscalationRoutingSchema1795454402824 } from './1795454402824-init-escalation-routing-schema';
import { AddEscalationsRosterRulesContext1796130722238 } from './1796130722238-add-escalations-roster-rules-context';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitEscalationRoutingSchema1795454402824, AddEscalationsRosterRulesContext1796130722238];
