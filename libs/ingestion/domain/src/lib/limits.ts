/** The Segment HTTP API limits, enforced with a 400 that names the limit (never a silent drop). */
export const SEGMENT_LIMITS = {
  messageBytes: 32 * 1024,
  batchBytes: 500 * 1024,
  batchMessages: 2500,
} as const;

export type LimitViolation = { limit: 'message-size' | 'batch-size' | 'batch-count'; message: string };

export function checkMessageSize(bytes: number): LimitViolation | undefined {
  if (bytes <= SEGMENT_LIMITS.messageBytes) return undefined;
  return { limit: 'message-size', message: `message is ${bytes} bytes; the limit is 32 KB (${SEGMENT_LIMITS.messageBytes} bytes) per message` };
}

export function checkBatch(bytes: number, count: number): LimitViolation | undefined {
  if (bytes > SEGMENT_LIMITS.batchBytes) {
    return { limit: 'batch-size', message: `batch is ${bytes} bytes; the limit is 500 KB (${SEGMENT_LIMITS.batchBytes} bytes) per batch` };
  }
  if (count > SEGMENT_LIMITS.batchMessages) {
    return { limit: 'batch-count', message: `batch has ${count} messages; the limit is ${SEGMENT_LIMITS.batchMessages} messages per batch` };
  }
  return undefined;
}
