import { installRequestQueueTimerFix } from './kafkajs-request-queue';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  inflight: Map<number, unknown>;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
  sendSocketRequest(r: unknown): void;
  destroy(): void;
}
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (o: Record<string, unknown>) => Queue;
const queue = () =>
  new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger: { debug: () => undefined, error: () => undefined } });

describe("kafkajs's request queue timer", () => {
  beforeAll(() => installRequestQueueTimerFix());
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-02T12:00:00Z') }));
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('schedules nothing for an idle connection (kafkajs re-checked an empty queue every millisecond)', () => {
    const warnings = jest.spyOn(process, 'emitWarning');
    const q = queue();
    q.checkPendingRequests(); // what kafkajs runs after every response
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(warnings).not.toHaveBeenCalled();
    q.destroy();
  });

  it('sends a request queued during a throttle when the throttle ends, and checks the queue no more after', () => {
    const q = queue();
    const sent: unknown[] = [];
    q.sendSocketRequest = (r) => void sent.push(r);
    q.throttledUntil = Date.now() + 5000;
    q.pending.push('produce');
    q.scheduleCheckPendingRequests();
    q.scheduleCheckPendingRequests(); // one check at a time
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(4999);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual(['produce']);
    expect(q.pending).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    q.destroy();
  });

  it('re-checks after 10 ms while a request waits for a free in-flight slot', () => {
    const q = queue();
    const sent: unknown[] = [];
    q.sendSocketRequest = (r) => void sent.push(r);
    q.inflight.set(1, {}); // maxInFlightRequests: 1
    q.pending.push('fetch');
    q.scheduleCheckPendingRequests();
    jest.advanceTimersByTime(10);
    expect(sent).toEqual([]); // still full: checked again 10 ms later
    expect(jest.getTimerCount()).toBe(1);
    q.inflight.clear();
    jest.advanceTimersByTime(10);
    expect(sent).toEqual(['fetch']);
    expect(jest.getTimerCount()).toBe(0);
    q.destroy();
  });
});
