import { InitIngestionSchema1795454400344 } from './1795454400344-init-ingestion-schema';

/** In the order they run. Written by `npm run db:generate`. */
export const MIGRATIONS: (new () => unknown)[] = [InitIngestionSchema1795454400344];
