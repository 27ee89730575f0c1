import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { CLOUDEVENTS_SPEC_VERSION, JSON_CONTENT_TYPE, type CloudEvent } from './envelope';
import { EventMap, isEventType, type EventType, type PayloadOf } from './event-map';
import { ProductEventV1, isValidProductEvent } from './events/product';

/** Raised when a message does not honour the contract. The message says exactly what is wrong. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(readonly violations: string[]) {
    super(violations.join('; '));
  }
}

/** Flattens class-validator errors into "path: constraint message" strings. */
export function describeValidationErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const err of errors) {
    const path = prefix ? `${prefix}.${err.property}` : err.property;
    if (err.constraints) {
      for (const message of Object.values(err.constraints)) out.push(`${path}: ${message}`);
    }
    if (err.children?.length) out.push(...describeValidationErrors(err.children, path));
  }
  return out;
}

const FLAT_PAYLOADS = new Set<unknown>([ProductEventV1]);

/** Validates a payload against its class and returns a typed instance, or throws ContractViolation. */
export function validatePayload<T extends EventType>(type: T, data: unknown, prefix = 'data'): PayloadOf<T> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ContractViolation([`${prefix}: must be a JSON object`]);
  }
  const cls = EventMap[type].payload as unknown as new () => PayloadOf<T>;
  // The busiest payload is checked by hand first; class-validator decides (and words) anything else.
  if (cls === (ProductEventV1 as unknown) && isValidProductEvent(data as Record<string, unknown>)) return Object.assign(new cls(), data);
  // Flat payloads (no nested classes, no conversions) need no deep transformation: a shallow copy
  // onto the class is what plainToInstance would give, without walking free-form objects such as a
  // product event's properties and context (most of the cost of the busiest topic).
  const instance = FLAT_PAYLOADS.has(cls) ? Object.assign(new cls(), data) : plainToInstance(cls, data);
  const errors = validateSync(instance as object, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length) throw new ContractViolation(describeValidationErrors(errors, prefix));
  return instance;
}

const REQUIRED_STRING_ATTRS = ['id', 'source', 'type', 'subject', 'time'] as const;

/**
 * Parses and validates a consumed message: the CloudEvents envelope, the event type
 * (it must be in the EventMap) and the payload. Throws ContractViolation with every reason.
 */
export function parseEvent(raw: Buffer | string | null): CloudEvent {
  if (raw === null) throw new ContractViolation(['message has no value']);
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (e) {
    throw new ContractViolation([`value is not valid JSON (${(e as Error).message})`]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ContractViolation(['value must be a JSON object (a CloudEvents envelope)']);
  }
  const obj = json as Record<string, unknown>;
  const problems: string[] = [];
  if (obj['specversion'] !== CLOUDEVENTS_SPEC_VERSION) problems.push(`specversion: must be "${CLOUDEVENTS_SPEC_VERSION}"`);
  for (const attr of REQUIRED_STRING_ATTRS) {
    const v = obj[attr];
    if (typeof v !== 'string' || v.length === 0) problems.push(`${attr}: must be a non-empty string`);
  }
  if (obj['datacontenttype'] !== undefined && obj['datacontenttype'] !== JSON_CONTENT_TYPE) {
    problems.push(`datacontenttype: must be "${JSON_CONTENT_TYPE}"`);
  }
  if (typeof obj['time'] === 'string' && Number.isNaN(Date.parse(obj['time']))) problems.push('time: must be an RFC 3339 timestamp');
  const type = obj['type'];
  if (typeof type === 'string' && type.length > 0 && !isEventType(type)) problems.push(`type: unknown event type "${type}"`);
  if (problems.length) throw new ContractViolation(problems);
  const eventType = type as EventType;
  const data = validatePayload(eventType, obj['data']);
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: obj['id'] as string,
    source: obj['source'] as string,
    type: eventType,
    subject: obj['subject'] as string,
    time: obj['time'] as string,
    datacontenttype: JSON_CONTENT_TYPE,
    data,
  } as CloudEvent;
}
