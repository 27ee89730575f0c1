/**
 * Dead-letter topics.
 *   list <topic>.dlq [--reason r] [--group g]     the dead letters not yet replayed
 *   replay <topic>.dlq [--reason r] [--group g]   move them back to their topic, once the cause is fixed
 *   topics                                         every dead-letter topic and how many messages it holds
 * Uses KAFKA_BROKERS (default 127.0.0.1:9092). A replay remembers how far it went (consumer group
 * kizuna.dlq-replay.<topic>), so it never replays a message twice; consumers' inboxes absorb an event
 * that some other group had applied.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_KAFKA_BROKERS } from '@kizuna/shared/config';
import { DEAD_LETTER_SUFFIX, installKafkaCodecs } from '@kizuna/shared/contracts';
import { installRequestQueueTimerFix, replayDeadLetters, type DeadLetter } from '@kizuna/shared/messaging';

const USAGE = 'Usage: npm run dlq -- list|replay <topic>.dlq [--reason <reason>] [--group <consumer group>] | topics';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { reason: { type: 'string' }, group: { type: 'string' } },
  });
  const [command, topic] = positionals;
  installRequestQueueTimerFix();
  installKafkaCodecs(); // the services' batches are zstd
  const kafka = new Kafka({
    clientId: 'kizuna-dlq',
    brokers: (process.env['KAFKA_BROKERS'] || DEFAULT_KAFKA_BROKERS).split(','),
    logLevel: logLevel.NOTHING,
  });
  if (command === 'topics') {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const t of (await admin.listTopics()).filter((n) => n.endsWith(DEAD_LETTER_SUFFIX)).sort()) {
        const offsets = await admin.fetchTopicOffsets(t);
        const n = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
        process.stdout.write(`${t.padEnd(36)} ${n}\n`);
      }
    } finally {
      await admin.disconnect();
    }
    return;
  }
  if ((command !== 'list' && command !== 'replay') || !topic) throw new Error(USAGE);
  const print = (d: DeadLetter) =>
    process.stdout.write(
      `${topic}:${d.partition}:${d.offset}  key=${d.key ?? '-'}  group=${d.group}  reason=${d.reason}  attempts=${d.attempts}  at=${d.failedAt}\n    ${d.error}\n`,
    );
  const result = await replayDeadLetters(kafka, topic, {
    dryRun: command === 'list',
    onMessage: print,
    ...(values.reason ? { reason: values.reason } : {}),
    ...(values.group ? { group: values.group } : {}),
  });
  process.stdout.write(
    command === 'list'
      ? `${result.replayed} dead letters to replay (${result.skipped} not matching the filters)\n`
      : `${result.replayed} replayed to their topics, ${result.skipped} left (not matching the filters)\n`,
  );
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
