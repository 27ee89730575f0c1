// Integration and e2e tests run with the same OpenTelemetry setup as the services
// (W3C propagation, async context), without exporting; real brokers need longer timeouts.
import { startTelemetry } from '@kizuna/shared/telemetry';

startTelemetry({ serviceName: 'kizuna-tests', otlpEndpoint: '' });
jest.setTimeout(Number(process.env['KIZUNA_TEST_TIMEOUT_MS'] ?? 90_000));
