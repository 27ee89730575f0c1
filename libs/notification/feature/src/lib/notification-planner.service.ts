import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { context, propagation } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { NotificationChannel, Topics, createEvent, type Clock, CLOCK } from '@kizuna/shared/contracts';
import { enqueueOutbox } from '@kizuna/shared/persistence';
import { SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { Delivery, NotificationRow, Recipient, type StoredContent } from '@kizuna/notification/data-access';
import type { DeliveryHandOff } from './delivery-worker.service';
import { channelsFor, planSend, type DeliveryWindowPrefs, type Notice, type NoticeContent, type Person, type Priority } from '@kizuna/notification/domain';

export const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/** Target keys: rate limits, order and disabling apply per target. */
export const targetKey = {
  email: (address: string) => `email:${address.toLowerCase()}`,
  slack: (url: string) => `slack:${sha(url)}`,
  webhook: (csmId: string, endpointId: string) => `webhook:${csmId}:${endpointId}`,
};

const windowOf = (r: Recipient | null): DeliveryWindowPrefs => ({
  timeZone: r?.timeZone ?? 'UTC',
  quietHours: r?.quietStart && r.quietEnd ? { start: r.quietStart, end: r.quietEnd } : null,
  digest: r ? { enabled: r.digestEnabled, hour: r.digestHour } : null,
});

/** What one notification is: its trigger, recipient, content, delivery window and targets. */
export interface PlanRequest {
  triggerEventId: string;
  trigger: string;
  recipient: string;
  recipientName?: string | undefined;
  accountId: string;
  priority: Priority;
  content: StoredContent;
  window: DeliveryWindowPrefs;
  targets: PlannedDelivery[];
}

export interface PlannedDelivery {
  channel: NotificationChannel;
  address: string;
  targetKey: string;
  endpointId?: string;
}

/**
 * Turns notices into notifications and deliveries inside the caller's transaction (the consumer's
 * inbox transaction): unique per (trigger event, trigger, recipient) and per (trigger event, trigger,
 * recipient, channel, endpoint), so a redelivered event never plans a second send.
 */
@Injectable()
export class NotificationPlanner {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  /** The recipient row for a person: by CSM id, else by e-mail. */
  async recipientFor(m: EntityManager, person: Person): Promise<Recipient | null> {
    return (await this.recipientsFor(m, [person]))[0] ?? null;
  }

  /** The recipient rows of several people in one query (each by CSM id, else by e-mail; null when none). */
  async recipientsFor(m: EntityManager, people: Person[]): Promise<(Recipient | null)[]> {
    if (people.length === 0) return [];
    const rows = await m
      .getRepository(Recipient)
      .createQueryBuilder('r')
      .where('r.csm_id = ANY(:ids) OR r.email = ANY(:emails)', { ids: [...new Set(people.map((p) => p.id))], emails: [...new Set(people.map((p) => p.email.toLowerCase()))] })
      .getMany();
    return people.map((p) => rows.find((r) => r.csmId === p.id) ?? rows.find((r) => r.email === p.email.toLowerCase()) ?? null);
  }

  /**
   * Plans every notice for every recipient; returns how many deliveries were created. E-mails due now
   * go to `handOff` when one is given (sent by this instance once the caller's transaction commits).
   * One statement each for the recipients, the notifications and the deliveries, whatever their number.
   */
  async planNotices(m: EntityManager, notices: Notice[], handOff?: DeliveryHandOff): Promise<number> {
    const pairs = notices.flatMap((notice) => notice.recipients.map(({ person }) => ({ notice, person })));
    const recipients = await this.recipientsFor(m, pairs.map((x) => x.person));
    const plans = pairs.map(({ notice, person }, i): PlanRequest => {
      const recipient = recipients[i] ?? null;
      const id = recipient?.csmId ?? person.id;
      const targets: PlannedDelivery[] = [];
      for (const channel of channelsFor(notice, recipient?.channels)) {
        if (channel === NotificationChannel.Email) {
          const address = recipient?.email ?? person.email;
          targets.push({ channel, address, targetKey: targetKey.email(address) });
        } else if (channel === NotificationChannel.Slack) {
          if (recipient?.slackWebhookUrl) targets.push({ channel, address: recipient.slackWebhookUrl, targetKey: targetKey.slack(recipient.slackWebhookUrl) });
          else this.logger.debug({ recipient: id, trigger: notice.trigger }, 'slack wanted but no webhook URL set');
        } else if (channel === NotificationChannel.Webhook) {
          for (const ep of recipient?.webhooks ?? []) {
            if (!ep.triggers || ep.triggers.includes(notice.trigger)) targets.push({ channel, address: ep.url, targetKey: targetKey.webhook(id, ep.id), endpointId: ep.id });
          }
        } else {
          targets.push({ channel, address: id, targetKey: `in-app:${id}` });
        }
      }
      return {
        triggerEventId: notice.triggerEventId, trigger: notice.trigger, recipient: id, recipientName: recipient?.name ?? person.name,
        accountId: notice.accountId, priority: notice.priority, content: contentOf(notice), window: windowOf(recipient), targets,
      };
    });
    return this.planMany(m, plans, handOff);
  }

  /**
   * One notification and its deliveries; nothing when this (trigger event, trigger, recipient) was
   * planned before. With a hand-off, an e-mail due now is inserted claimed for it (when it has a slot).
   */
  plan(m: EntityManager, p: PlanRequest, handOff?: DeliveryHandOff): Promise<number> {
    return this.planMany(m, [p], handOff);
  }

  /** Notifications and their deliveries, each statement for all of them; returns how many deliveries were created. */
  private async planMany(m: EntityManager, requests: PlanRequest[], handOff?: DeliveryHandOff): Promise<number> {
    const wanted = requests
      .filter((p) => p.targets.length > 0)
      .map((p) => ({ p, notificationId: randomUUID(), content: { ...p.content, ...(p.recipientName ? { recipientName: p.recipientName } : {}) } as StoredContent }));
    if (wanted.length === 0) return 0;
    const now = this.clock.now();
    const inserted = await m
      .createQueryBuilder()
      .insert()
      .into(NotificationRow)
      .values(
        wanted.map(({ p, notificationId, content }) => ({
          id: notificationId, triggerEventId: p.triggerEventId, trigger: p.trigger, recipient: p.recipient, accountId: p.accountId,
          priority: p.priority, title: p.content.title, content, inApp: p.targets.some((t) => t.channel === NotificationChannel.InApp), readAt: null, createdAt: now,
        })),
      )
      .orIgnore()
      .returning(['id'])
      .execute();
    const created = new Set((inserted.raw as { id: string }[]).map((r) => r.id));
    const fresh = wanted.filter((w) => created.has(w.notificationId));
    if (fresh.length === 0) return 0;
    const traceHeaders: Record<string, string> = {};
    propagation.inject(context.active(), traceHeaders);
    const handed = new Map<string, (typeof fresh)[number]>();
    const rows = fresh.flatMap((w) => {
      const { p, notificationId } = w;
      const send = planSend(now, p.priority, p.window);
      const dueNow = send.mode === 'instant' && !send.held && send.at.getTime() <= now.getTime();
      return p.targets.map((t) => {
        const delivered = t.channel === NotificationChannel.InApp;
        const id = randomUUID();
        const claimed = !!handOff && dueNow && t.channel === NotificationChannel.Email && handOff.take();
        if (claimed) handed.set(id, w);
        return {
          id,
          idempotencyKey: [p.triggerEventId, p.trigger, p.recipient, t.channel, ...(t.endpointId ? [t.endpointId] : [])].join('|'),
          notificationId, triggerEventId: p.triggerEventId, trigger: p.trigger, recipient: p.recipient, accountId: p.accountId,
          channel: t.channel, address: t.address, targetKey: t.targetKey, endpointId: t.endpointId ?? null,
          mode: delivered ? 'instant' : send.mode, status: delivered ? 'delivered' : claimed ? 'sending' : 'pending', attempts: delivered ? 1 : 0, throttled: 0,
          held: !delivered && send.held, nextAttemptAt: delivered ? null : send.at, leaseUntil: claimed && handOff ? handOff.leaseUntil(now) : null,
          deliveredAt: delivered ? now : null,
          providerResponse: delivered ? 'stored in the in-app inbox' : null, lastError: null,
          attemptLog: delivered ? [{ at: now.toISOString(), outcome: 'delivered', response: 'stored in the in-app inbox', durationMs: 0 }] : [],
          traceHeaders: Object.keys(traceHeaders).length ? traceHeaders : null,
          createdAt: now, updatedAt: now,
        } as Delivery;
      });
    });
    const result = await m.createQueryBuilder().insert().into(Delivery).values(rows).orIgnore().returning(['id']).execute();
    const ids = new Set((result.raw as { id: string }[]).map((r) => r.id));
    for (const d of rows) {
      const w = handed.get(d.id);
      if (!w || !handOff) continue;
      if (!ids.has(d.id)) {
        handOff.giveBack(); // planned before: not inserted, not ours to send
        continue;
      }
      handOff.add({
        id: d.id, notification_id: d.notificationId, trigger_event_id: d.triggerEventId, trigger: d.trigger, recipient: d.recipient, account_id: d.accountId,
        channel: d.channel, address: d.address, target_key: d.targetKey, endpoint_id: d.endpointId, mode: 'instant', attempts: 0,
        trace_headers: d.traceHeaders, content: w.content, title: w.p.content.title,
      });
    }
    const inbox = rows.filter((r) => r.status === 'delivered' && ids.has(r.id));
    await enqueueOutbox(m, inbox.map((d) => deliveryEvent(d, 'delivered', now)));
    return ids.size;
  }
}

export function contentOf(n: Notice): NoticeContent {
  return {
    trigger: n.trigger, priority: n.priority, accountId: n.accountId, accountName: n.accountName, triggerEventId: n.triggerEventId,
    title: n.title, summary: n.summary, facts: n.facts, evidence: n.evidence,
  };
}

/** The cs.notification.v1 event for a delivery's outcome. */
export function deliveryEvent(d: Pick<Delivery, 'id' | 'triggerEventId' | 'trigger' | 'recipient' | 'channel' | 'attempts' | 'accountId'>, status: 'delivered' | 'failed' | 'dead-lettered', at: Date, error?: string) {
  return {
    topic: Topics.notification,
    event: createEvent(
      'kizuna/notification',
      {
        type: `cs.notification.${status}.v1` as const,
        subject: d.accountId,
        data: {
          deliveryId: d.id, triggerEventId: d.triggerEventId, trigger: d.trigger, recipient: d.recipient, channel: d.channel, status,
          attempts: Math.max(1, d.attempts), ...(error ? { error: error.slice(0, 500) } : {}), at: at.toISOString(),
        },
      },
      at,
    ),
  };
}
