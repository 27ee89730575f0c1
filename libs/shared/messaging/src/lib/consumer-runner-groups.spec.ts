import type { Kafka } from 'kafkajs';
import pino from 'pino';
import { SystemClock } from '@kizuna/shared/contracts';
import { ConsumerRunner } from './consumer-runner';
import type { EventPublisher } from './event-publisher';

const runner = () =>
  new ConsumerRunner({} as Kafka, {} as EventPublisher, { groupId: 'kizuna.svc', maxAttempts: 3, retryBackoffMs: 10, logger: pino({ level: 'silent' }), clock: new SystemClock() })
    .on('cs.support.ticket.updated.v1', async () => undefined)
    .onBatch(['cs.product.track.v1'], async () => undefined)
    .inLane(['cs.product.track.v1'], 'product');

const ids = (r: ConsumerRunner) => r.groupsToRun().map((g) => g.groupId);

describe('ConsumerRunner: the groups a process runs (KAFKA_LANES)', () => {
  it('runs every group by default, the service group first', () => {
    const r = runner();
    expect(r.hasLanes()).toBe(true);
    expect(ids(r)).toEqual(['kizuna.svc', 'kizuna.svc.product']);
  });

  it("runs only the service's own group, or only the lanes, when told", () => {
    expect(ids(runner().runOnly('own'))).toEqual(['kizuna.svc']);
    expect(ids(runner().runOnly('lanes'))).toEqual(['kizuna.svc.product']);
  });

  it('still knows every group (lag is reported for all of them)', () => {
    expect(runner().runOnly('own').groups().map((g) => g.groupId)).toEqual(['kizuna.svc', 'kizuna.svc.product']);
  });

  it('a runner without lanes has none to run elsewhere', () => {
    const r = new ConsumerRunner({} as Kafka, {} as EventPublisher, { groupId: 'kizuna.svc', maxAttempts: 3, retryBackoffMs: 10, logger: pino({ level: 'silent' }), clock: new SystemClock() }).on(
      'cs.support.ticket.updated.v1',
      async () => undefined,
    );
    expect(r.hasLanes()).toBe(false);
    expect(ids(r.runOnly('lanes'))).toEqual([]);
  });
});
