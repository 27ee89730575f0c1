import type { DataSource } from 'typeorm';
import { queryRows } from './data-source';
import { InboxEntry } from './inbox-outbox.entities';

/**
 * Deletes inbox rows received before `before`, `batchSize` rows per statement (each its own short
 * transaction, so no long lock and no huge WAL burst), until none is left. Returns how many.
 * Each statement takes the oldest rows through `inbox_received_idx`: without it every statement
 * scanned the table from its start (past the rows the statements before had deleted) and the last
 * one all of it, a month of events every hour.
 */
export async function purgeInbox(ds: DataSource, before: Date, batchSize: number): Promise<{ deleted: number; batches: number }> {
  if (!ds.hasMetadata(InboxEntry)) return { deleted: 0, batches: 0 };
  const table = ds.getMetadata(InboxEntry).tablePath;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const rows = await queryRows<{ x: number }>(
      ds,
      `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE received_at < $1 ORDER BY received_at LIMIT $2) RETURNING 1 AS x`,
      [before, batchSize],
    );
    batches++;
    deleted += rows.length;
    if (rows.length < batchSize) return { deleted, batches };
  }
}
