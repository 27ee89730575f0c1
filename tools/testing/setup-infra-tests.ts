// Integration and e2e tests run with the same OpenTelemetry setup as the services
// (W3C propagation, async context), without exporting; real brokers need longer timeouts.
import { startTelemetry } from '@kizuna/shared/telemetry';

startTelemetry({ serviceName: 'kizuna-tests', otlpEndpoint: '' });
jest.setTimeout(Number(process.env['KIZUNA_TEST_TIMEOUT_MS'] ?? 90_000));

// Services under test verify bearer tokens signed with the test keys (libs/shared/testing auth-tokens).
import { useTestAuthEnv } from '@kizuna/shared/testing';

useTestAuthEnv();
