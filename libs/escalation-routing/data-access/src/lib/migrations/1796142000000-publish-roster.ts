import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Topics } from '@kizuna/shared/contracts';

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Data only: puts a `cs.roster.csm.changed.v1` for every CSM already on the roster into the outbox,
 * so health-scoring and lifecycle learn the teams of CSMs stored before the roster was published
 * (later changes are published by the roster itself). The envelope is the one `createEvent` builds;
 * the topic is the installation's (with its KAFKA_TOPIC_PREFIX).
 */
export class PublishRoster1796142000000 implements MigrationInterface {
  name = 'PublishRoster1796142000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH c AS (SELECT csm.*, gen_random_uuid()::text AS event_id FROM "escalation_routing"."csm" csm)
      INSERT INTO "escalation_routing"."outbox" (event_id, topic, message_key, envelope, headers)
      SELECT c.event_id, $1, 'csm:' || c.id,
             jsonb_build_object(
               'specversion', '1.0', 'id', c.event_id, 'source', 'kizuna/escalation-routing', 'type', 'cs.roster.csm.changed.v1',
               'subject', 'csm:' || c.id, 'time', ${ISO('now()')}, 'datacontenttype', 'application/json',
               'data', jsonb_build_object('csmId', c.id, 'email', lower(c.email), 'teamId', c.team_id, 'active', c.active, 'changedAt', ${ISO('c.updated_at')})),
             '{}'::jsonb
        FROM c ORDER BY c.id`, [Topics.roster]);
  }

  async down(): Promise<void> {
    // Published events cannot be taken back; nothing to undo in the schema.
  }
}
