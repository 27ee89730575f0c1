/**
 * kafkajs 2.2.4 (its last release) schedules its request queue's throttle check `throttledUntil -
 * Date.now()` ms ahead even when nothing is pending and the broker never throttled it (`throttledUntil`
 * is -1): a delay of minus the epoch. Node runs such a timer after 1 ms and prints a
 * TimeoutNegativeWarning, once in every process that talks to Kafka. This puts in the same method with
 * the delay raised to 1 ms, which is what Node did with it: the same behaviour, without the warning.
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
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.throttleCheckTimeoutId) return;
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, Math.max(1, scheduleAt));
  };
  installed = true;
}
