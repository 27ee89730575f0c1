import { Client } from 'pg';
import { Topics, parseEvent } from '@kizuna/shared/contracts';
import { createDataSource, ensureDatabase, runServiceMigrations } from '@kizuna/shared/persistence';
import { LOCAL_POSTGRES_URL } from '@kizuna/shared/testing';
import { escalationRoutingData } from '../escalation-routing-data';
import { PublishRoster1796142000000 } from './1796142000000-publish-roster';

/** The data migration that publishes the roster stored before cs.roster.v1 existed: valid events, one per CSM. */
describe('migration PublishRoster', () => {
  const url = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  url.pathname = `${url.pathname}_publish_roster`;

  beforeAll(async () => {
    const admin = new URL(url.toString());
    admin.pathname = '/postgres';
    const pg = new Client({ connectionString: admin.toString() });
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`).finally(() => pg.end());
    await ensureDatabase(url.toString());
  });

  it('puts a valid cs.roster.csm.changed.v1 for every existing CSM into the outbox', async () => {
    const ds = createDataSource(escalationRoutingData, { url: url.toString(), poolSize: 2 });
    await ds.initialize();
    try {
      await runServiceMigrations(ds, escalationRoutingData.schema);
      await ds.query(`DELETE FROM escalation_routing.outbox`);
      await ds.query(
        `INSERT INTO escalation_routing.csm (id, name, email, team_id, capacity, active, updated_at) VALUES
           ('aiko', 'Aiko', 'Aiko@Example.com', 'japan', 5, true, '2026-04-01T09:30:00.123Z'), ('ben', 'Ben', 'ben@example.com', NULL, 5, false, '2026-04-02T00:00:00Z')`,
      );
      const runner = ds.createQueryRunner();
      await new PublishRoster1796142000000().up(runner).finally(() => runner.release());
      const rows: { event_id: string; topic: string; message_key: string; envelope: Record<string, unknown> }[] =
        await ds.query(`SELECT event_id, topic, message_key, envelope FROM escalation_routing.outbox ORDER BY message_key`);
      expect(rows.map((r) => [r.topic, r.message_key])).toEqual([[Topics.roster, 'csm:aiko'], [Topics.roster, 'csm:ben']]);
      const events = rows.map((r) => parseEvent(JSON.stringify(r.envelope))); // validated against the contract
      expect(events.map((e) => e.id)).toEqual(rows.map((r) => r.event_id));
      expect(events.map((e) => [e.type, e.subject, e.source])).toEqual([
        ['cs.roster.csm.changed.v1', 'csm:aiko', 'kizuna/escalation-routing'], ['cs.roster.csm.changed.v1', 'csm:ben', 'kizuna/escalation-routing'],
      ]);
      expect(events.map((e) => e.data)).toEqual([
        { csmId: 'aiko', email: 'aiko@example.com', teamId: 'japan', active: true, changedAt: '2026-04-01T09:30:00.123Z' },
        { csmId: 'ben', email: 'ben@example.com', teamId: null, active: false, changedAt: '2026-04-02T00:00:00.000Z' },
      ]);
    } finally {
      await ds.destroy();
    }
  });
});
