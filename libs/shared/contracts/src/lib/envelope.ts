import { randomUUID } from 'node:crypto';
import type { EventType, PayloadOf } from './event-map';

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';

/**
 * The CloudEvents 1.0 envelope (structured JSON mode) every Kafka message carries.
 * `subject` is always the accountId, which is also the Kafka key.
 */
export interface CloudEvent<T extends EventType = EventType> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  id: string;
  source: string;
  type: T;
  subject: string;
  time: string;
  datacontenttype: typeof JSON_CONTENT_TYPE;
  data: PayloadOf<T>;
}

export interface NewEvent<T extends EventType> {
  type: T;
  /** The accountId. */
  subject: string;
  data: PayloadOf<T>;
  /** A deterministic id makes re-emission idempotent downstream; random when omitted. */
  id?: string;
  /** When it happened (a Date or an RFC 3339 string); now when omitted. */
  time?: Date | string;
}

/** Builds an envelope. `source` names the producer, e.g. "kizuna/health-scoring". */
export function createEvent<T extends EventType>(source: string, e: NewEvent<T>, now: Date): CloudEvent<T> {
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: e.id ?? randomUUID(),
    source,
    type: e.type,
    subject: e.subject,
    time: typeof e.time === 'string' ? e.time : (e.time ?? now).toISOString(),
    datacontenttype: JSON_CONTENT_TYPE,
    data: e.data,
  };
}
