// Jest setupFiles of the integration and e2e tests: this file's Kafka topics and database (see
// namespace.ts), named before anything reads KAFKA_TOPIC_PREFIX or DATABASE_URL. Jest gives each test
// file its own copy of process.env, which the service processes the file starts inherit.
// setup-infra-tests.ts creates the database before the file's own hooks run.
import { randomBytes } from 'node:crypto';
import { RUN_ENV, TEMPLATE_URL_ENV, fileDatabaseUrl } from './namespace';

const run = process.env[RUN_ENV] ?? 'kt';
const file = randomBytes(4).toString('hex');
const prefix = `${process.env['KAFKA_TOPIC_PREFIX'] ?? ''}${run}-${file}.`;
process.env['KAFKA_TOPIC_PREFIX'] = prefix;
const template = process.env[TEMPLATE_URL_ENV];
if (template) process.env['DATABASE_URL'] = fileDatabaseUrl(template, run, file);

// The topic names are fixed when @kizuna/shared/contracts loads: had anything loaded it before this
// point, the file's own code would use other topics than the services it starts.
const { TOPIC_PREFIX } = require('@kizuna/shared/contracts') as { TOPIC_PREFIX: string };
if (TOPIC_PREFIX !== prefix) throw new Error(`@kizuna/shared/contracts was loaded before the test file's KAFKA_TOPIC_PREFIX was set (it has "${TOPIC_PREFIX}", not "${prefix}")`);
