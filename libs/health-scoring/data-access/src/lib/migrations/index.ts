import { InitHealthScoringSchema1795454401110 } from './1795454401110-init-health-scoring-schema';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitHealthScoringSchema1795454401110];
