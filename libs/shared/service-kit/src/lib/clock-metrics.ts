import { isSteppedClock, type Clock } from '@kizuna/shared/contracts';
import { kizunaMeter } from '@kizuna/shared/telemetry';
import { clockStepsPending } from './periodic-task';

/**
 * The service's clock on GET /metrics: `kizuna_clock_now` (its reading, ms since the epoch: real time
 * in production, the simulated time in a simulation) and `kizuna_clock_steps_pending` (periodic tasks
 * that owe a run for a step the player of a stepped clock has closed). A scrape re-reads a stepped
 * clock, so a player that moved it sees the move in the next scrape and knows every later event is
 * handled at the new time.
 */
export function observeClock(clock: Clock): void {
  const meter = kizunaMeter();
  meter.createObservableGauge('kizuna.clock.now', { description: "The service's clock reading in ms since the epoch (simulated time in a simulation)" })
    .addCallback((result) => {
      if (isSteppedClock(clock)) clock.refresh();
      result.observe(clock.now().getTime());
    });
  meter.createObservableGauge('kizuna.clock.steps_pending', { description: 'Periodic tasks owing a run for a step of a stepped (simulation) clock' })
    .addCallback((result) => result.observe(clockStepsPending()));
}
