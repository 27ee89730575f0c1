// First import of main.ts: instruments http and pg before they are loaded.
import { startTelemetry } from '@kizuna/shared/telemetry';

startTelemetry({ serviceName: 'escalation-routing' });
