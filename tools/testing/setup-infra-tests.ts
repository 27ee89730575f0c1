// Integration and e2e tests run with the same OpenTelemetry setup as the services
// (W3C propagation, async context), without exporting; real brokers need longer timeouts.
import { startTelemetry } from '@kizuna/shared/telemetry';

startTelemetry({ serviceName: 'kizuna-tests', otlpEndpoint: '' });
jest.setTimeout(Number(process.env['KIZUNA_TEST_TIMEOUT_MS'] ?? 90_000));

// Services under test verify bearer tokens signed with the test keys (libs/shared/testing auth-tokens).
import { useTestAuthEnv } from '@kizuna/shared/testing';

useTestAuthEnv();

// The tests' own kafkajs clients (testKafka) get the request-queue timer fix the services install:
// without it kafkajs schedules negative timeouts (Node's TimeoutNegativeWarning in the test output).
import { installRequestQueueTimerFix } from '@kizuna/shared/messaging';

installRequestQueueTimerFix();

// This file's own database (test-namespace.ts named it): a copy of the migrated test database, made
// before the file's own hooks run; globalTeardown drops it.
import { TEMPLATE_URL_ENV, createFileDatabase } from './namespace';

beforeAll(async () => {
  const template = process.env[TEMPLATE_URL_ENV];
  const url = process.env['DATABASE_URL'];
  if (template && url && url !== template) await createFileDatabase(url, template);
});
