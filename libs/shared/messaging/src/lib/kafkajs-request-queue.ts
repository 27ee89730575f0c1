/**
 * kafkajs 2.2.4 (its last release) ends every check of a connection's request queue by scheduling
 * the next one, `throttledUntil - Date.now()` ms ahead, even when nothing is pending and the broker
 * never throttled it (`throttledUntil` is -1: a delay of minus the epoch, which Node runs after 1 ms,
 * with a TimeoutNegativeWarning on Node 24). So every connection of every kafkajs client checked an
 * empty queue about a thousand times a second for as long as it lived (kafkajs issues #1556, #1704):
 * measured with strace on an idle escalation-routing, 1,480 event-loop wake-ups a second and ~5 % of a
 * core per idle service.
 *
 * The method put in here schedules a check only when a request is waiting: at the end of the broker's
 * throttle, or after kafkajs's 10 ms when the wait is for a free in-flight slot (a completed request
 * checks the queue anyway). A request that arrives while throttled is queued by kafkajs's `push`, which
 * calls this method again, so nothing waits unscheduled.
 */

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own value (network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

let installed = false;

export function installRequestQueueTimerFix(): void {
  if (installed) return;
  const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueLike };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledFor = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL,
    );
  };
  installed = true;
}
