import type { Client } from 'pg';
import type { SunkMail, SunkWebhook } from '@kizuna/shared/testing';
import { verifyWebhook } from '@kizuna/notification/domain';
import type { EventPlan } from './event-plan';
import type { Check } from './verify';


/** How long before its arrival stamp a send may have begun (an SMTP transaction or webhook call on this machine). */
const SEND_MS = 2000;
/** What the notification side of a run is checked against: what the sinks received, and when notification was SIGKILLed. */
export interface DeliveryEvidence {
  mails: readonly SunkMail[];
  webhooks: readonly SunkWebhook[];
  /** The recipients' webhook secret (each recipient's endpoint is `/<csm id>` on the sink). */
  webhookSecret: string;
  /** When notification processes were SIGKILLed (epoch ms, the sinks' clock). */
  notificationKills: readonly number[];
}

/** Per delivery id, how often and when it arrived. */
export interface Arrivals {
  email: number;
  webhook: number;
  /** Arrivals of one delivery id more than once, each after a SIGKILL of notification between its first and its last arrival. */
  resentAfterKill: number;
}

interface DeliveryRow {
  id: string;
  idempotency_key: string;
  trigger: string;
  trigger_event_id: string;
  recipient: string;
  channel: string;
  address: string;
  status: string;
  attempts: number;
}

const sample = (xs: Iterable<string>, n = 3) => [...xs].slice(0, n).join('; ');

/**
 * The notification side of a crash replay: every escalation assignment notified its assignee once
 * (one notification, one e-mail, one webhook, one in-app entry), every e-mail and webhook the service
 * recorded as delivered arrived (signed, to the right address), nothing arrived that it did not
 * plan, and no delivery arrived twice, except when a SIGKILL cut notification between the send and
 * its record: then the same delivery (same Message-ID / webhook-id) is sent again after the lease,
 * which a receiver recognises. That re-send is counted; any other second arrival fails the check.
 */
export async function verifyNotifications(db: Client, plan: EventPlan, ev: DeliveryEvidence): Promise<{ checks: Check[]; arrivals: Arrivals }> {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const accounts = plan.accounts;

  // 1. Escalations: each assignment (cs.escalation.assigned.v1 in escalation-routing's outbox) is one notification for its assignee.
  const assigned = (
    await db.query<{ event_id: string; escalation_id: string; assignee: string | null }>(
      `SELECT event_id, envelope->'data'->>'escalationId' AS escalation_id, envelope->'data'->'assignee'->>'csmId' AS assignee
         FROM escalation_routing.outbox WHERE envelope->>'type' = 'cs.escalation.assigned.v1' AND message_key = ANY($1)`,
      [accounts],
    )
  ).rows;
  const escalations = (await db.query<{ id: string; assignee_csm_id: string | null }>(`SELECT id, assignee_csm_id FROM escalation_routing.escalation WHERE account_id = ANY($1)`, [accounts])).rows;
  const notifications = (
    await db.query<{ trigger_event_id: string; recipient: string; n: string }>(
      `SELECT trigger_event_id, recipient, count(*) AS n FROM notification.notification WHERE account_id = ANY($1) AND trigger = 'escalation.assigned' GROUP BY 1, 2`,
      [accounts],
    )
  ).rows;
  const deliveries = (
    await db.query<DeliveryRow>(
      `SELECT id, idempotency_key, trigger, trigger_event_id, recipient, channel, address, status, attempts FROM notification.delivery WHERE account_id = ANY($1)`,
      [accounts],
    )
  ).rows;
  const assigneeOf = new Map(escalations.map((e) => [e.id, e.assignee_csm_id]));
  const notified = new Map<string, { recipient: string; n: number }[]>();
  for (const n of notifications) notified.set(n.trigger_event_id, [...(notified.get(n.trigger_event_id) ?? []), { recipient: n.recipient, n: Number(n.n) }]);
  const channelsOf = (eventId: string) => deliveries.filter((d) => d.trigger === 'escalation.assigned' && d.trigger_event_id === eventId).map((d) => d.channel).sort().join(',');
  const wrong: string[] = [];
  for (const a of assigned) {
    const got = notified.get(a.event_id) ?? [];
    const assignee = assigneeOf.get(a.escalation_id);
    if (got.length !== 1 || got[0]?.n !== 1 || got[0].recipient !== a.assignee || a.assignee !== assignee) {
      wrong.push(`${a.escalation_id}: assignee ${assignee ?? 'none'}, notified ${JSON.stringify(got)}`);
    } else if (channelsOf(a.event_id) !== 'email,in-app,webhook') wrong.push(`${a.escalation_id}: deliveries ${channelsOf(a.event_id) || 'none'}`);
  }
  const strayNotified = [...notified.keys()].filter((id) => !assigned.some((a) => a.event_id === id));
  const assignedEscalations = escalations.filter((e) => e.assignee_csm_id !== null).length;
  check(
    'each escalation assignment notified its assignee once',
    wrong.length === 0 && strayNotified.length === 0 && assigned.length === assignedEscalations && assigned.length > 0,
    `${assigned.length} assignments of ${escalations.length} escalations (${assignedEscalations} assigned), ${notifications.length} assignment notifications, each with one e-mail, one webhook and one in-app delivery` +
      (assigned.length === 0 ? '; no escalation was assigned: the check would prove nothing' : '') +
      (wrong.length ? `; ${wrong.length} wrong, e.g. ${sample(wrong)}` : '') +
      (strayNotified.length ? `; ${strayNotified.length} notifications for no assignment` : ''),
  );

  // 2. What the service recorded as sent arrived; nothing else arrived.
  const outbound = deliveries.filter((d) => d.channel === 'email' || d.channel === 'webhook');
  const byId = new Map(outbound.map((d) => [d.id, d]));
  const notDelivered = outbound.filter((d) => d.status !== 'delivered');
  const mailArrivals = new Map<string, number[]>();
  const foreign: string[] = [];
  const misaddressed: string[] = [];
  for (const m of ev.mails) {
    const id = /^<([^@>]+)@kizuna\.notification>$/.exec(m.messageId ?? '')?.[1];
    const d = id ? byId.get(id) : undefined;
    if (!id || d?.channel !== 'email') {
      foreign.push(`e-mail ${m.messageId ?? '(no Message-ID)'} to ${m.to.join(',')}`);
      continue;
    }
    if (m.to.join(',') !== d.address) misaddressed.push(`e-mail ${id} to ${m.to.join(',')}, planned for ${d.address}`);
    mailArrivals.set(id, [...(mailArrivals.get(id) ?? []), m.at]);
  }
  const hookArrivals = new Map<string, number[]>();
  for (const w of ev.webhooks) {
    const id = String(w.headers['webhook-id'] ?? '');
    const d = byId.get(id);
    if (d?.channel !== 'webhook') {
      foreign.push(`webhook ${id || '(no webhook-id)'} on ${w.path}`);
      continue;
    }
    try {
      verifyWebhook({ body: w.body, headers: w.headers, secrets: ev.webhookSecret, toleranceSeconds: 24 * 3600 });
    } catch (e) {
      misaddressed.push(`webhook ${id}: ${(e as Error).message}`);
    }
    if (w.path !== `/${d.recipient}`) misaddressed.push(`webhook ${id} on ${w.path}, planned for /${d.recipient}`);
    hookArrivals.set(id, [...(hookArrivals.get(id) ?? []), w.at]);
  }
  const arrived = (d: DeliveryRow) => (d.channel === 'email' ? mailArrivals : hookArrivals).has(d.id);
  const delivered = outbound.filter((d) => d.status === 'delivered');
  const missing = delivered.filter((d) => !arrived(d));
  const emails = delivered.filter((d) => d.channel === 'email').length;
  const webhooks = delivered.length - emails;
  const triggers = [...new Set(delivered.map((d) => d.trigger))].map((t) => `${t} ${delivered.filter((d) => d.trigger === t).length}`).join(', ');
  check(
    'every e-mail and webhook recorded as delivered arrived, and nothing else',
    missing.length + notDelivered.length + foreign.length + misaddressed.length === 0 && emails > 0 && webhooks > 0,
    `${emails} e-mails and ${webhooks} webhooks recorded as delivered (${triggers || 'none'}); ${ev.mails.length} e-mails and ${ev.webhooks.length} webhook calls arrived, signatures checked` +
      (emails === 0 || webhooks === 0 ? '; an e-mail and a webhook are both needed for the check to prove anything' : '') +
      (notDelivered.length ? `; ${notDelivered.length} not delivered: ${sample(notDelivered.map((d) => `${d.id} ${d.channel} ${d.status} after ${d.attempts}`))}` : '') +
      (missing.length ? `; ${missing.length} recorded as delivered never arrived: ${sample(missing.map((d) => `${d.channel} ${d.id}`))}` : '') +
      (foreign.length ? `; ${foreign.length} arrived that notification did not plan: ${sample(foreign)}` : '') +
      (misaddressed.length ? `; ${misaddressed.length} wrong: ${sample(misaddressed)}` : ''),
  );

  // 3. No delivery twice: one delivery id per notification key (trigger event, trigger, recipient,
  //    channel), and each delivery id arrived once, unless notification was SIGKILLed between its arrivals.
  const perKey = new Map<string, Set<string>>();
  for (const [id] of [...mailArrivals, ...hookArrivals]) {
    const d = byId.get(id);
    if (d) perKey.set(d.idempotency_key, new Set([...(perKey.get(d.idempotency_key) ?? []), id]));
  }
  const keyTwice = [...perKey].filter(([, s]) => s.size > 1);
  let resentAfterKill = 0;
  const twice: string[] = [];
  for (const [kind, arrivals] of [['e-mail', mailArrivals], ['webhook', hookArrivals]] as const) {
    for (const [id, times] of arrivals) {
      if (times.length < 2) continue;
      const sorted = [...times].sort((a, b) => a - b);
      // Each further arrival must follow a kill that came after the send before it began. The sink stamps
      // an arrival when it has taken the whole message, which may be just after the client died: a kill
      // up to SEND_MS before the stamp cut that send (seen: a kill 13 ms before the stamp, the re-send 40 s
      // later when the lease ran out).
      const explained = sorted.slice(1).every((t, i) => ev.notificationKills.some((k) => k >= (sorted[i] as number) - SEND_MS && k <= t));
      if (explained) resentAfterKill += times.length - 1;
      else twice.push(`${kind} ${id} arrived ${times.length} times (${sorted.map((t) => new Date(t).toISOString().slice(11, 23)).join(', ')}) with no SIGKILL of notification between`);
    }
  }
  check(
    'no e-mail or webhook delivered twice',
    twice.length === 0 && keyTwice.length === 0,
    `${mailArrivals.size} distinct e-mails (Message-ID), ${hookArrivals.size} distinct webhooks (webhook-id), one per notification key` +
      `; ${resentAfterKill} sent again with the same id after a SIGKILL of notification cut the send from its record (at-least-once at the transport: the receiver sees the same id)` +
      (twice.length ? `; ${twice.length} twice: ${sample(twice)}` : '') +
      (keyTwice.length ? `; ${keyTwice.length} notification keys delivered under more than one id: ${sample(keyTwice.map(([k, s]) => `${k} x${s.size}`))}` : ''),
  );
  return { checks, arrivals: { email: mailArrivals.size, webhook: hookArrivals.size, resentAfterKill } };
}
