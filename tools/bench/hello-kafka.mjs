// Reference server: bare Fastify plus the services' own Kafka publisher (dist/, so build first). Each
// POST's JSON body goes out as one record (a CloudEvent-shaped envelope around it, keyed by its
// account) and the answer {"success":true} waits for the broker's acknowledgement (acks = all,
// idempotent producer, concurrent requests coalesced into one produce request), as the ingestion
// service does. No write key, validation, dedup, telemetry or Postgres: what HTTP + JSON + the
// acknowledged produce cost on this machine, the floor under the ingestion service's single events.
//   KAFKA_BROKERS=127.0.0.1:19392 PORT=3998 node tools/bench/hello-kafka.mjs
import Fastify from 'fastify';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createKafka, ensureTopics, EventPublisher } = require('../../dist/libs/shared/messaging/src/index.js');

const TOPIC = process.env.HELLO_KAFKA_TOPIC ?? 'bench.hello-kafka';
const kafka = createKafka({ clientId: 'hello-kafka', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19392').split(',') });
await ensureTopics(kafka, [TOPIC], { partitions: Number(process.env.KAFKA_TOPIC_PARTITIONS ?? 6), replication: 1 });
const publisher = new EventPublisher(kafka, 'kizuna/bench-hello-kafka', { now: () => new Date() });
await publisher.connect();

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
let sequence = 0;
const publishOne = async (body) => {
  const time = new Date().toISOString();
  const id = `${process.pid}-${++sequence}`;
  const key = body?.context?.groupId ?? body?.userId ?? id;
  const value = JSON.stringify({ specversion: '1.0', id, source: 'kizuna/bench-hello-kafka', type: 'cs.product.tracked.v1', subject: key, time, datacontenttype: 'application/json', data: body });
  await publisher.send([{ topic: TOPIC, key, value, headers: { ce_id: id, ce_type: 'cs.product.tracked.v1', ce_time: time } }]);
};
app.post('/v1/batch', async (req) => {
  await Promise.all((req.body?.batch ?? []).map(publishOne));
  return { success: true };
});
app.post('/v1/:type', async (req) => {
  await publishOne(req.body);
  return { success: true };
});
app.get('/health/ready', async () => ({ status: 'ready' }));

await app.listen({ port: Number(process.env.PORT ?? 3998), host: '127.0.0.1' });
const stop = () => app.close().then(() => publisher.disconnect()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
