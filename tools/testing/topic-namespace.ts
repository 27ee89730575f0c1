// Jest setupFiles of the integration and e2e tests: every test file gets Kafka topics of its own,
// `<run>-<file>.cs.….v1`, by setting KAFKA_TOPIC_PREFIX before anything loads the topic names
// (@kizuna/shared/contracts reads it once, when it loads). Test files run side by side and their
// services consume every topic: with shared topics, one file's lifecycle service put segments on
// another file's accounts, and a consumer group's offsets moved with another file's events.
// Jest gives each test file its own copy of process.env, which the services it starts inherit.
// The run's part (KIZUNA_TEST_RUN, from globalSetup) lets globalTeardown delete the run's topics.
import { randomBytes } from 'node:crypto';

const run = process.env['KIZUNA_TEST_RUN'] ?? 'kt';
process.env['KAFKA_TOPIC_PREFIX'] = `${process.env['KAFKA_TOPIC_PREFIX'] ?? ''}${run}-${randomBytes(4).toString('hex')}.`;
