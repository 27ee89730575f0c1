import { Topics, type TopicName } from './topics';
import { ProductEventV1 } from './events/product';
import { AccountUpdatedV1, UserAliasedV1, UserIdentifiedV1 } from './events/directory';
import { CallRecordedV1, TicketUpdatedV1 } from './events/support';
import { SurveyAnsweredV1 } from './events/survey';
import { SubscriptionChangedV1 } from './events/billing';
import { HealthScoreChangedV1 } from './events/health';
import {
  OnboardingStalledV1, PhaseChangedV1, RenewalWindowOpenedV1, SegmentChangedV1, TouchModelChangedV1,
} from './events/lifecycle';
import { EscalationChangedV1 } from './events/escalation';
import { NotificationDeliveryV1 } from './events/notification';
import { IngestRejectedV1 } from './events/ingest';
import { RosterCsmChangedV1 } from './events/roster';

type Ctor<T> = new () => T;
interface Entry<T> {
  topic: TopicName;
  payload: Ctor<T>;
}
const entry = <T>(topic: TopicName, payload: Ctor<T>): Entry<T> => ({ topic, payload });

/**
 * The one map of every event Kizuna publishes: CloudEvents `type` -> topic and payload class.
 * `publish(type, payload)` and `@OnEvent(type)` are checked against it by the compiler,
 * and every consumed event is validated against its payload class at runtime.
 */
export const EventMap = {
  'cs.product.track.v1': entry(Topics.product, ProductEventV1),
  'cs.product.page.v1': entry(Topics.product, ProductEventV1),
  'cs.product.screen.v1': entry(Topics.product, ProductEventV1),

  'cs.directory.user.identified.v1': entry(Topics.directory, UserIdentifiedV1),
  'cs.directory.account.updated.v1': entry(Topics.directory, AccountUpdatedV1),
  'cs.directory.user.aliased.v1': entry(Topics.directory, UserAliasedV1),

  'cs.support.ticket.updated.v1': entry(Topics.support, TicketUpdatedV1),
  'cs.support.call.recorded.v1': entry(Topics.support, CallRecordedV1),

  'cs.survey.answered.v1': entry(Topics.survey, SurveyAnsweredV1),

  'cs.billing.subscription.changed.v1': entry(Topics.billing, SubscriptionChangedV1),

  'cs.ingest.rejected.v1': entry(Topics.ingestRejected, IngestRejectedV1),

  'cs.health.score.changed.v1': entry(Topics.health, HealthScoreChangedV1),

  'cs.lifecycle.phase.changed.v1': entry(Topics.lifecycle, PhaseChangedV1),
  'cs.lifecycle.touch-model.changed.v1': entry(Topics.lifecycle, TouchModelChangedV1),
  'cs.lifecycle.segment.changed.v1': entry(Topics.lifecycle, SegmentChangedV1),
  'cs.lifecycle.renewal-window.opened.v1': entry(Topics.lifecycle, RenewalWindowOpenedV1),
  'cs.lifecycle.onboarding.stalled.v1': entry(Topics.lifecycle, OnboardingStalledV1),

  'cs.escalation.opened.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.evidence-added.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.assigned.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.acknowledged.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.reassigned.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.resolved.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.handed-back.v1': entry(Topics.escalation, EscalationChangedV1),
  'cs.escalation.sla-breached.v1': entry(Topics.escalation, EscalationChangedV1),

  'cs.notification.delivered.v1': entry(Topics.notification, NotificationDeliveryV1),
  'cs.notification.failed.v1': entry(Topics.notification, NotificationDeliveryV1),
  'cs.notification.dead-lettered.v1': entry(Topics.notification, NotificationDeliveryV1),

  'cs.roster.csm.changed.v1': entry(Topics.roster, RosterCsmChangedV1),
} as const;

export type EventType = keyof typeof EventMap;
export type PayloadOf<T extends EventType> = InstanceType<(typeof EventMap)[T]['payload']>;
export type TopicOf<T extends EventType> = (typeof EventMap)[T]['topic'];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EventMap, type);
}

export function topicOf(type: EventType): TopicName {
  return EventMap[type].topic;
}

/** Every event type carried on a topic. */
export function eventTypesOn(topic: string): EventType[] {
  return (Object.keys(EventMap) as EventType[]).filter((t) => EventMap[t].topic === topic);
}
