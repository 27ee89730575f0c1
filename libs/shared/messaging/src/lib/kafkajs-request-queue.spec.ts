import { installRequestQueueTimerFix } from './kafkajs-request-queue';

type Queue = { pending: unknown[]; throttledUntil: number; scheduleCheckPendingRequests(): void; checkPendingRequests(): void };
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (o: Record<string, unknown>) => Queue;
const queue = () => new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger: { debug: () => undefined, error: () => undefined } });

describe("kafkajs's request queue timer", () => {
  afterEach(() => jest.restoreAllMocks());

  it('checks the queue a millisecond later without a negative timeout when never throttled, as before', async () => {
    installRequestQueueTimerFix();
    const warnings = jest.spyOn(process, 'emitWarning');
    const timers = jest.spyOn(global, 'setTimeout');
    const q = queue();
    let checked = 0;
    q.checkPendingRequests = () => void checked++;
    q.scheduleCheckPendingRequests();
    q.scheduleCheckPendingRequests(); // one check at a time
    expect(timers).toHaveBeenCalledTimes(1);
    expect(timers.mock.calls[0]?.[1]).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(checked).toBe(1);
    expect(warnings).not.toHaveBeenCalled();
  });

  it('waits out a throttle, and re-checks pending requests after 10 ms when the throttle is over', () => {
    installRequestQueueTimerFix();
    const timers = jest.spyOn(global, 'setTimeout');
    const throttled = queue();
    throttled.checkPendingRequests = () => undefined;
    throttled.throttledUntil = Date.now() + 5000;
    throttled.scheduleCheckPendingRequests();
    expect(timers.mock.calls[0]?.[1]).toBeGreaterThan(4900);
    const waiting = queue();
    waiting.checkPendingRequests = () => undefined;
    waiting.pending.push({});
    waiting.scheduleCheckPendingRequests();
    expect(timers.mock.calls[1]?.[1]).toBe(10);
    for (const c of timers.mock.results) clearTimeout(c.value as ReturnType<typeof setTimeout>);
  });
});
