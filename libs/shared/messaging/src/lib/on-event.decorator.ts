import type { CloudEvent, EventType } from '@kizuna/shared/contracts';
import type { BatchItem, HeaderReader, MessageContext } from './consumer-runner';

export const ON_EVENT_METADATA = 'kizuna:on-event';

type HandlerMethod<T extends EventType> = (event: CloudEvent<T>, ctx: MessageContext) => Promise<void>;

/**
 * Marks a provider method as the handler of one event type. The method's signature is checked
 * against the EventMap; the service's consumer group subscribes to the type's topic.
 */
export function OnEvent<T extends EventType>(type: T) {
  return (target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<HandlerMethod<T>>): void => {
    const types: EventType[] = Reflect.getMetadata(ON_EVENT_METADATA, target, key) ?? [];
    Reflect.defineMetadata(ON_EVENT_METADATA, [...types, type], target, key);
    void descriptor;
  };
}

export const ON_EVENT_BATCH_METADATA = 'kizuna:on-event-batch';

type BatchMethod<T extends EventType> = (items: BatchItem<T>[]) => Promise<void>;

/**
 * Marks a provider method as the batch handler of several event types: it receives runs of
 * consecutive events of one partition (see BatchHandler in consumer-runner).
 */
export function OnEventBatch<T extends EventType>(...types: T[]) {
  return (target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<BatchMethod<T>>): void => {
    Reflect.defineMetadata(ON_EVENT_BATCH_METADATA, types, target, key);
    void descriptor;
  };
}

export const ONLY_IF_METADATA = 'kizuna:only-if';

/**
 * With `@OnEventBatch`: the messages the handler wants, judged from their Kafka headers (EventHeader)
 * and key alone, called with the provider instance. The others are passed over without being parsed
 * (see Prefilter in consumer-runner). It must keep every message it cannot judge (no such header).
 */
export function OnlyIf<T extends object>(wants: (instance: T, header: HeaderReader, key: string | null) => boolean) {
  return (target: T, key: string | symbol, descriptor: PropertyDescriptor): void => {
    Reflect.defineMetadata(ONLY_IF_METADATA, wants, target, key);
    void descriptor;
  };
}

export const LANE_METADATA = 'kizuna:lane';

/**
 * Puts the topics of the method's event types (with `@OnEvent` / `@OnEventBatch`) in a consumer
 * lane: a group of their own, `<service group>.<lane>`, so that a backlog on them never delays the
 * service's other topics (see ConsumerRunner.inLane). E.g. the product stream, in a service that
 * mostly waits for tickets or escalations.
 */
export function InLane(lane: string) {
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor): void => {
    Reflect.defineMetadata(LANE_METADATA, lane, target, key);
    void descriptor;
  };
}
