// The bench's traffic comes from the simulator (tools/simulator): the Segment track calls and the
// tickets of a simulated company's history, written once by its CLI (--out, --dry-run) and cycled
// through with fresh ids, so every request carries what the platform sees from a real customer base
// (event names from the product's catalog, properties, users, accounts, ticket subjects and tags).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Generates (or reuses, keyed by its parameters) the simulator's stream and keeps its track calls
 * (without messageId and timestamp: each send gets a fresh id and is stamped on receipt) and tickets.
 */
export function simulatorFeed(root, { seed = 42, accounts = 200, days = 30, start = '2026-01-05', dir }) {
  mkdirSync(dir, { recursive: true });
  // A fixed first day: the simulator's default window ends today, and weekdays shape its traffic.
  const file = join(dir, `simulator-feed-${seed}-${accounts}-${days}-${start}.ndjson`);
  if (!existsSync(file)) {
    const tmp = `${file}.tmp`;
    const r = spawnSync(
      process.execPath,
      ['-r', '@swc-node/register', join(root, 'tools/simulator/src/cli.ts'), '--seed', String(seed), '--accounts', String(accounts), '--days', String(days), '--start', start, '--out', tmp, '--dry-run'],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`the simulator could not write the bench's traffic (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`);
    renameSync(tmp, file);
  }
  const tracks = [];
  const tickets = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const m = JSON.parse(line);
    if (m.kind === 'segment' && m.body.type === 'track') {
      const { messageId: _id, timestamp: _at, ...call } = m.body;
      tracks.push(call);
    } else if (m.kind === 'ticket') tickets.push(m.body);
  }
  if (!tracks.length || !tickets.length) throw new Error(`the simulator's stream ${file} has ${tracks.length} track calls and ${tickets.length} tickets`);
  return { seed, accounts, days, tracks, tickets, describe: `simulator seed ${seed}, ${accounts} accounts, ${days} days from ${start}: ${tracks.length.toLocaleString('en-US')} track calls and ${tickets.length.toLocaleString('en-US')} tickets, cycled with fresh ids` };
}

/** The feed's n-th track call (cycling), with a fresh messageId and, when given, another account. */
export function feedTrack(feed, n, messageId, accountId) {
  const call = feed.tracks[n % feed.tracks.length];
  if (!accountId) return { ...call, messageId };
  return { ...call, messageId, context: { ...(call.context ?? {}), groupId: accountId } };
}
