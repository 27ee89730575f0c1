/**
 * Kafka headers every Kizuna event carries beside its CloudEvents envelope (structured mode: the
 * envelope is the value). They repeat a few envelope fields, so that a consumer can pass over what it
 * has no use for without parsing and validating the value: most of what several services read is
 * the product stream, and most of that stream is events they ignore.
 */
export const EventHeader = {
  /** The event type, named as in the CloudEvents Kafka binding (`ce_type`). */
  type: 'ce_type',
  /** cs.product.track.v1 only: the tracked event's name (`data.event`), as sent. */
  productEvent: 'kizuna-product-event',
  /** cs.product.track.v1 only: when it happened (`data.timestamp`, ISO 8601). */
  productTime: 'kizuna-product-time',
} as const;

/** The headers of EventHeader for an envelope (what the publisher and the outbox relay add). */
export function eventHeaders(envelope: { type?: unknown; data?: unknown }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof envelope.type !== 'string') return headers;
  headers[EventHeader.type] = envelope.type;
  if (envelope.type === 'cs.product.track.v1') {
    const data = envelope.data as { event?: unknown; timestamp?: unknown } | undefined;
    if (typeof data?.event === 'string') headers[EventHeader.productEvent] = data.event;
    if (typeof data?.timestamp === 'string') headers[EventHeader.productTime] = data.timestamp;
  }
  return headers;
}
