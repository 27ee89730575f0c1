import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context } from '@opentelemetry/api';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, NotificationChannel, type Clock } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { OutboxRelay } from '@kizuna/shared/messaging';
import { enqueueOutbox, queryRows } from '@kizuna/shared/persistence';
import { lazyInstruments } from '@kizuna/shared/telemetry';

/**
 * Recorded delivery attempts by channel and outcome (delivered, throttled, failed, dead-lettered), and how
 * long each send took, counted after their commit: GET /metrics.
 */
const deliveryMetrics = lazyInstruments((meter) => ({
  attempts: meter.createCounter('kizuna.notification.deliveries', { description: 'Delivery attempts, by channel and outcome (delivered, throttled, failed, dead-lettered)' }),
  sendDuration: meter.createHistogram('kizuna.notification.send.duration', {
    description: 'Time of one send (a delivery, or a digest of several): building the message and the channel answering (SMTP accepting the DATA, the HTTP response), by channel and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.4, 0.5, 0.75, 1, 2.5, 5, 10, 15, 30] },
  }),
}));
import { PeriodicTask, SERVICE_LOGGER, SecretBox } from '@kizuna/shared/service-kit';
import { AccountDirectory, ChannelTarget, Delivery, NotificationRow, Recipient, type DeliveryAttempt, type StoredContent } from '@kizuna/notification/data-access';
import {
  lacksAccountName, nextRetryAt, parseSchedule, renderDigestEmail, renderDigestSlack, renderEmail, renderSlack, renderWebhook, signWebhook, withAccountName,
} from '@kizuna/notification/domain';
import type { ChannelAdapter, OutboundMessage, SendResult } from './channels/channel';
import { EmailChannel } from './channels/email.channel';
import { SlackChannel, WebhookChannel } from './channels/http.channels';
import { NotificationConfig } from './notification.config';
import { NotificationPlanner, deliveryEvent, targetKey } from './notification-planner.service';

/** Channels whose endpoints are disabled after failing for days (an SMTP relay is not one endpoint per person). */
const DISABLEABLE = new Set<string>([NotificationChannel.Slack, NotificationChannel.Webhook]);

/** Adapters by channel; a test may replace them. */
export const CHANNEL_ADAPTERS = Symbol('ChannelAdapters');
export type ChannelAdapters = Partial<Record<NotificationChannel, ChannelAdapter>>;

interface Outcome {
  group: Claimed[];
  result: SendResult;
  durationMs: number;
  /** The send's span context: the outcome's events continue the trace. */
  ctx: Context;
}

const tracer = trace.getTracer('kizuna-notification');

/** A claimed delivery, as the claim returns it (and as a hand-off builds it). */
export interface Claimed {
  id: string;
  notification_id: string;
  trigger_event_id: string;
  trigger: string;
  recipient: string;
  account_id: string;
  channel: NotificationChannel;
  address: string;
  target_key: string;
  endpoint_id: string | null;
  mode: 'instant' | 'digest';
  attempts: number;
  /** Set when the target is disabled (the delivery is dead-lettered without a send). */
  disabled_at?: Date | null;
  trace_headers: Record<string, string> | null;
  /** The notification's content and title (null if the notification row is gone). */
  content: StoredContent | null;
  title: string | null;
}

/**
 * E-mail deliveries that a transaction plans for now, which this instance sends as soon as that
 * transaction commits instead of claiming them back from the table (one round trip less before the
 * send). The planner inserts them already claimed ('sending', with the lease a claim gives), within
 * the worker's concurrency; one that does not fit is inserted pending and claimed as usual. A crash
 * between the commit and the send leaves them to a claim once the lease ends, as a crash during a
 * send does.
 */
export interface DeliveryHandOff {
  /** Takes a send slot for one delivery; false when the worker has none free. */
  take(): boolean;
  /** Returns a taken slot (the delivery was planned before and not inserted again). */
  giveBack(): void;
  /** The lease a handed-off delivery is inserted with. */
  leaseUntil(now: Date): Date;
  /** A delivery inserted claimed, to send once the transaction has committed. */
  add(delivery: Claimed): void;
}

/** What a send needs of a notification (named before the send when it lacks the account's name). */
type NotificationContent = Pick<NotificationRow, 'id' | 'accountId' | 'content' | 'title'>;

/**
 * Sends due deliveries: claims them (FOR UPDATE SKIP LOCKED, with a lease so a crashed instance's
 * claims come back), sends each (or each digest group) through its channel adapter with up to
 * NOTIFICATION_DELIVERY_CONCURRENCY in flight, and records the outcome with its cs.notification.v1
 * event (outcomes completing together share one transaction). Failures are retried on the schedule
 * with jitter and dead-lettered after the last attempt; a 429 waits for Retry-After without using up
 * an attempt. A Slack webhook gets its messages one at a time, in order, at most one per
 * NOTIFICATION_SLACK_MIN_INTERVAL_MS. Woken by new deliveries, and polls for held and retried ones.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config = loadConfig(NotificationConfig);
  private readonly schedule = parseSchedule(this.config.NOTIFICATION_RETRY_SCHEDULE);
  private readonly box = this.config.NOTIFICATION_SECRET_KEY ? new SecretBox(this.config.NOTIFICATION_SECRET_KEY, 'NOTIFICATION_SECRET_KEY') : undefined;
  private readonly adapters: ChannelAdapters;
  private readonly periodic: PeriodicTask;
  private active?: Promise<void>;
  private again = false;
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();
  /** Send slots taken by hand-offs whose sends are not in flight yet. */
  private reserved = 0;
  /** Hand-offs being started (their sends join `inflight`). */
  private readonly starting = new Set<Promise<void>>();
  /** Hand-offs holding slots whose transaction has neither committed nor failed yet; shutdown waits for them. */
  private open = 0;
  private onSettled?: () => void;
  /** Set once shutdown closes the channels: a hand-off committed later is left to its lease. */
  private closed = false;
  private readonly toRecord: { outcome: Outcome; done: () => void; fail: (e: unknown) => void }[] = [];
  private recorder?: Promise<void>;

  constructor(
    private readonly ds: DataSource,
    private readonly relay: OutboxRelay,
    private readonly planner: NotificationPlanner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.adapters = {
      [NotificationChannel.Email]: new EmailChannel(this.config),
      [NotificationChannel.Slack]: new SlackChannel(this.config, clock),
      [NotificationChannel.Webhook]: new WebhookChannel(this.config, clock),
    };
    this.periodic = new PeriodicTask('delivery worker', this.config.NOTIFICATION_DELIVERY_POLL_MS, () => this.pump(), logger);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.periodic.stop();
    await this.active;
    await this.handOffsSettled(this.config.NOTIFICATION_SEND_TIMEOUT_MS); // transactions still inserting hand-offs
    await Promise.all([...this.starting]); // hand-offs becoming sends
    await Promise.all([...this.inflight]);
    await this.recorder;
    this.closed = true;
    for (const a of Object.values(this.adapters)) await a.close?.();
  }

  /** Until every open hand-off has committed or failed, or `limitMs` passed (a transaction that hangs does not hold shutdown). */
  private async handOffsSettled(limitMs: number): Promise<void> {
    if (this.open === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.onSettled = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs))),
    ]);
    clearTimeout(timer);
    this.onSettled = undefined;
    if (this.open > 0) this.logger.warn({ handOffs: this.open }, 'shutting down with hand-offs still in their transactions; their lease will expire and they are claimed again');
  }

  /** Sends what is due now (new deliveries call this after their transaction commits). */
  kick(): void {
    void this.pump();
  }

  /**
   * A hand-off for one transaction: pass it to the planner inside the transaction, then call `commit`
   * after it committed (the deliveries are sent) or `cancel` when it failed (the slots are freed).
   */
  handOff(): { handOff: DeliveryHandOff; commit: () => void; cancel: () => void } {
    let taken = 0;
    let open = false;
    const added: Claimed[] = [];
    const release = () => {
      this.reserved -= taken;
      taken = 0;
    };
    const settle = () => {
      if (!open) return;
      open = false;
      if (--this.open === 0) this.onSettled?.();
    };
    return {
      handOff: {
        take: () => {
          if (this.stopping || this.inflight.size + this.reserved >= this.config.NOTIFICATION_DELIVERY_CONCURRENCY) return false;
          this.reserved++;
          taken++;
          if (!open) {
            open = true;
            this.open++;
          }
          return true;
        },
        giveBack: () => {
          this.reserved--;
          taken--;
        },
        leaseUntil: (now) => this.leaseUntil(now),
        add: (d) => added.push(d),
      },
      commit: () => {
        if (added.length === 0 || this.closed) {
          if (added.length > 0) this.logger.warn({ deliveries: added.length }, 'hand-off committed after the channels closed; its lease will expire and it is claimed again');
          release();
          return settle();
        }
        // The slots stay taken until the sends are in flight (a pump meanwhile must not claim them).
        const starting: Promise<void> = this.start(added.splice(0))
          .catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message } }, 'starting handed-off deliveries failed; their lease will expire and they are claimed again'))
          .finally(() => {
            release();
            this.starting.delete(starting);
          });
        this.starting.add(starting);
        settle(); // after `starting` holds it: shutdown, woken by this, waits for it
      },
      cancel: () => {
        release();
        added.length = 0;
        settle();
      },
    };
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + 2 * this.config.NOTIFICATION_SEND_TIMEOUT_MS + 30_000);
  }

  /** Until nothing is due and nothing is in flight (tests, shutdown). */
  async drain(): Promise<void> {
    do {
      await Promise.all([...this.starting]);
      await this.pump();
      await Promise.all([...this.inflight]);
    } while (this.inflight.size > 0 || this.starting.size > 0 || this.active);
  }

  /**
   * Claims due deliveries while there is room (NOTIFICATION_DELIVERY_CONCURRENCY in flight) and starts
   * each send; a send's completion wakes it again. Concurrent callers share the run in progress.
   */
  private pump(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.active) {
      this.again = true;
      return this.active;
    }
    this.active = (async () => {
      do {
        this.again = false;
        for (;;) {
          const room = Math.min(this.config.NOTIFICATION_DELIVERY_BATCH, this.config.NOTIFICATION_DELIVERY_CONCURRENCY - this.inflight.size - this.reserved);
          if (room <= 0 || this.stopping) break;
          if ((await this.dispatch(room)) < room) break;
        }
      } while (this.again && !this.stopping);
    })()
      .catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message } }, 'delivery worker failed; will retry'))
      .finally(() => (this.active = undefined));
    return this.active;
  }

  /** Claims up to `limit` due deliveries and starts sending them (digest rows grouped). Returns how many were claimed. */
  private async dispatch(limit: number): Promise<number> {
    const claimed = await this.claim(this.clock.now(), limit);
    if (claimed.length === 0) return 0;
    await this.start(claimed);
    return claimed.length;
  }

  /** Starts sending claimed deliveries (digest rows grouped), each send recorded when it completes. */
  private async start(claimed: Claimed[]): Promise<void> {
    const groups = new Map<string, Claimed[]>();
    for (const d of claimed) {
      const key = d.mode === 'digest' ? `digest|${d.recipient}|${d.target_key}` : d.id;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    // The claim brought each delivery's notification content (no second round trip before the send).
    const notifications = new Map<string, NotificationContent>();
    for (const c of claimed) {
      if (c.content) notifications.set(c.notification_id, { id: c.notification_id, accountId: c.account_id, content: c.content, title: c.title ?? c.content.title });
    }
    const rows = await this.nameAccounts([...notifications.values()]);
    const contents = new Map(rows.map((r) => [r.id, r.content]));
    for (const group of groups.values()) {
      const task: Promise<void> = this.deliver(group, contents)
        .then((outcome) => this.recordSoon(outcome))
        .catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message } }, 'recording a delivery failed; its lease will expire and it is retried'))
        .finally(() => {
          this.inflight.delete(task);
          this.relay.kick();
          this.kick();
        });
      this.inflight.add(task);
    }
  }

  /**
   * Notifications planned before their account's name was known show the account id (the trigger
   * event had no name, e.g. escalation-routing processed the ticket before the account's directory
   * event, and this service's directory projection had none yet either). By the time they are sent
   * the directory event has usually been applied: name them now, and store the named content (the
   * in-app inbox shows it too).
   */
  private async nameAccounts(rows: NotificationContent[]): Promise<NotificationContent[]> {
    const unnamed = rows.filter((r) => lacksAccountName(r.content) && !r.content.email);
    if (unnamed.length === 0) return rows;
    const names = new Map(
      (await this.ds.getRepository(AccountDirectory).findBy({ accountId: In([...new Set(unnamed.map((r) => r.accountId))]) }))
        .filter((a) => a.name)
        .map((a) => [a.accountId, a.name as string]),
    );
    for (const r of unnamed) {
      const named = withAccountName(r.content, names.get(r.accountId));
      if (named === r.content) continue;
      r.content = named;
      r.title = named.title;
      await this.ds.getRepository(NotificationRow).update({ id: r.id }, { content: named, title: named.title });
    }
    return rows;
  }

  /** Group commit: outcomes that complete while a record transaction runs go into the next one together. */
  private recordSoon(outcome: Outcome): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.toRecord.push({ outcome, done, fail });
      this.recorder ??= this.recordLoop();
    });
  }

  private async recordLoop(): Promise<void> {
    try {
      while (this.toRecord.length) {
        const batch = this.toRecord.splice(0);
        try {
          await this.record(batch.map((b) => b.outcome));
          batch.forEach((b) => b.done());
        } catch (e) {
          batch.forEach((b) => b.fail(e));
        }
      }
    } finally {
      this.recorder = undefined;
    }
  }

  private async claim(now: Date, limit: number): Promise<Claimed[]> {
    const d = this.ds.getMetadata(Delivery).tablePath;
    const t = this.ds.getMetadata(ChannelTarget).tablePath;
    const n = this.ds.getMetadata(NotificationRow).tablePath;
    const lease = this.leaseUntil(now);
    return queryRows<Claimed>(
      this.ds.manager,
      `WITH due AS (
         SELECT d.id, t.disabled_at FROM ${d} d LEFT JOIN ${t} t ON t.target_key = d.target_key
          WHERE ((d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1) OR (d.status = 'sending' AND d.lease_until <= $1))
            AND (t.target_key IS NULL OR t.disabled_at IS NOT NULL OR t.next_send_at IS NULL OR t.next_send_at <= $1)
            AND (d.channel <> 'slack' OR d.mode <> 'instant' OR NOT EXISTS (
                  SELECT 1 FROM ${d} e WHERE e.target_key = d.target_key AND e.recipient = d.recipient AND e.mode = 'instant'
                     AND e.seq < d.seq AND e.status IN ('pending', 'failed', 'sending')))
          ORDER BY d.next_attempt_at, d.seq
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED)
       , claimed AS (
         UPDATE ${d} x SET status = 'sending', lease_until = $3, updated_at = $1 FROM due WHERE x.id = due.id
         RETURNING x.id, x.notification_id, x.trigger_event_id, x.trigger, x.recipient, x.account_id, x.channel, x.address, x.target_key,
                   x.endpoint_id, x.mode, x.attempts, x.trace_headers, due.disabled_at)
       SELECT c.*, n.content, n.title FROM claimed c LEFT JOIN ${n} n ON n.id = c.notification_id`,
      [now, limit, lease],
    );
  }

  /** Sends one delivery (or digest group) in a span that continues the trace of the event that caused it. */
  private async deliver(group: Claimed[], contents: Map<string, StoredContent>): Promise<Outcome> {
    const first = group[0] as Claimed;
    const parent = propagation.extract(ROOT_CONTEXT, first.trace_headers ?? {});
    const span = tracer.startSpan(
      `send ${first.channel}`,
      { kind: SpanKind.CLIENT, attributes: { 'kizuna.account_id': first.account_id, 'kizuna.delivery_id': first.id, 'kizuna.channel': first.channel, 'kizuna.attempt': first.attempts + 1 } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const started = Date.now();
    let result: SendResult;
    try {
      if (first.disabled_at) {
        result = { outcome: 'failed', response: `endpoint disabled since ${new Date(first.disabled_at).toISOString()} (retry the delivery to re-enable it)`, permanent: true };
      } else {
        const message = await this.message(group, contents);
        const adapter = this.adapters[first.channel];
        if (!adapter) result = { outcome: 'failed', response: `no adapter for channel ${first.channel}`, permanent: true };
        else result = 'outcome' in message ? message : await context.with(ctx, () => adapter.send(message));
      }
    } catch (e) {
      result = { outcome: 'failed', response: (e as Error).message };
    }
    span.setAttribute('kizuna.outcome', result.outcome);
    if (result.outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: result.response.slice(0, 200) });
    span.end();
    return { group, result, durationMs: Date.now() - started, ctx };
  }

  /** The message for a delivery or digest group (or the reason it cannot be built). */
  private async message(group: Claimed[], byId: Map<string, StoredContent>): Promise<OutboundMessage | SendResult> {
    const first = group[0] as Claimed;
    const contents = group.map((g) => byId.get(g.notification_id)).filter((c): c is StoredContent => !!c);
    const one = contents.length === 1 ? contents[0] : undefined;
    const name = contents[0]?.recipientName;
    switch (first.channel) {
      case NotificationChannel.Email:
        return {
          channel: NotificationChannel.Email, deliveryId: first.id, to: first.address,
          content: one?.email ?? (one ? renderEmail(one, name) : renderDigestEmail(contents, name)),
        };
      case NotificationChannel.Slack:
        return { channel: NotificationChannel.Slack, deliveryId: first.id, url: first.address, message: one ? renderSlack(one) : renderDigestSlack(contents) };
      case NotificationChannel.Webhook: {
        const recipient = await this.ds.getRepository(Recipient).findOneBy({ csmId: first.recipient });
        const endpoint = recipient?.webhooks.find((w) => w.id === first.endpoint_id);
        if (!endpoint) return { outcome: 'failed', response: `webhook endpoint ${first.endpoint_id ?? ''} is no longer configured`, permanent: true };
        if (!this.box) return { outcome: 'failed', response: 'NOTIFICATION_SECRET_KEY is not set: webhook secrets cannot be read' };
        const now = this.clock.now();
        const body = JSON.stringify(renderWebhook(contents, first.id, now, first.recipient));
        const secrets = endpoint.secrets.map((s) => (this.box as SecretBox).open(s));
        return { channel: NotificationChannel.Webhook, deliveryId: first.id, url: endpoint.url, body, headers: signWebhook({ id: first.id, timestamp: now, body, secrets }) };
      }
      default:
        return { outcome: 'failed', response: `channel ${first.channel} is not sent by the worker`, permanent: true };
    }
  }

  /**
   * Records a round's outcomes, their attempts and cs.notification.v1 events in one transaction
   * (deliveries in one statement), then alerts about endpoints it disabled.
   */
  private async record(outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const now = this.clock.now();
    const table = this.ds.getMetadata(Delivery).tablePath;
    const alerts: NonNullable<Awaited<ReturnType<DeliveryWorker['updateTarget']>>>[] = [];
    // Counted once the outcomes are committed: a rolled-back record is an attempt nobody knows of
    // (the delivery is claimed again when its lease ends, and that attempt is counted).
    const counted: { channel: string; outcome: string }[] = [];
    await this.ds.transaction(async (m) => {
      const delivered: { id: string; response: string; log: string }[] = [];
      const perTrace: { ctx: Context; events: ReturnType<typeof deliveryEvent>[] }[] = [];
      for (const { group, result, durationMs, ctx } of outcomes) {
        const events: ReturnType<typeof deliveryEvent>[] = [];
        perTrace.push({ ctx, events });
        const entry: DeliveryAttempt = { at: now.toISOString(), outcome: result.outcome, response: result.response.slice(0, 1000), durationMs };
        const log = JSON.stringify([entry]);
        for (const d of group) {
          counted.push({ channel: d.channel, outcome: result.outcome === 'delivered' || result.outcome === 'throttled' ? result.outcome : result.permanent || !nextRetryAt(now, d.attempts + 1, this.schedule) ? 'dead-lettered' : 'failed' });
          if (result.outcome === 'delivered') {
            delivered.push({ id: d.id, response: entry.response, log });
            events.push(deliveryEvent({ ...this.view(d), attempts: d.attempts + 1 }, 'delivered', now));
          } else if (result.outcome === 'throttled') {
            await m.query(
              `UPDATE ${table} SET status = 'pending', throttled = throttled + 1, next_attempt_at = $2, provider_response = $3, lease_until = NULL,
                 attempt_log = attempt_log || $4::jsonb, updated_at = $5 WHERE id = $1`,
              [d.id, new Date(now.getTime() + result.retryAfterMs), entry.response, log, now],
            );
          } else {
            const attempts = d.attempts + 1;
            const next = result.permanent ? null : nextRetryAt(now, attempts, this.schedule);
            const status = next ? 'failed' : 'dead-lettered';
            await m.query(
              `UPDATE ${table} SET status = $2, attempts = $3, next_attempt_at = $4, provider_response = $5, last_error = $5, lease_until = NULL,
                 attempt_log = attempt_log || $6::jsonb, updated_at = $7 WHERE id = $1`,
              [d.id, status, attempts, next, entry.response, log, now],
            );
            events.push(deliveryEvent({ ...this.view(d), attempts }, status, now, entry.response));
            if (!next) this.logger.warn({ deliveryId: d.id, channel: d.channel, recipient: d.recipient, attempts, error: entry.response }, 'delivery dead-lettered');
          }
        }
      }
      if (delivered.length) {
        await m.query(
          `UPDATE ${table} x SET status = 'delivered', attempts = x.attempts + 1, delivered_at = $4, provider_response = v.response, last_error = NULL,
             lease_until = NULL, next_attempt_at = NULL, held = false, attempt_log = x.attempt_log || v.log::jsonb, updated_at = $4
             FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, response, log) WHERE x.id = v.id`,
          [delivered.map((d) => d.id), delivered.map((d) => d.response), delivered.map((d) => d.log), now],
        );
      }
      for (const { ctx, events } of perTrace) await context.with(ctx, () => enqueueOutbox(m, events));
      const clear: string[] = [];
      for (const { group, result } of outcomes) {
        const first = group[0] as Claimed;
        if (result.outcome === 'delivered' && first.channel !== NotificationChannel.Slack) clear.push(first.target_key);
        else {
          const alert = await this.updateTarget(m, first, result, now);
          if (alert) alerts.push(alert);
        }
        if (first.channel === NotificationChannel.Slack || result.outcome === 'throttled') this.again = true;
      }
      // Unpaced targets that answered: clear a failing streak if there is one (no row per mailbox otherwise).
      if (clear.length) {
        const t = m.connection.getMetadata(ChannelTarget).tablePath;
        await m.query(`UPDATE ${t} SET failing_since = NULL, last_error = NULL WHERE target_key = ANY($1) AND failing_since IS NOT NULL`, [clear]);
      }
    });
    for (const c of counted) deliveryMetrics().attempts.add(1, c);
    for (const { group, result, durationMs } of outcomes) {
      deliveryMetrics().sendDuration.record(durationMs / 1000, { channel: (group[0] as Claimed).channel, outcome: result.outcome });
    }
    for (const a of alerts) await this.alertDisabled(a);
  }

  private view(d: Claimed) {
    return { id: d.id, triggerEventId: d.trigger_event_id, trigger: d.trigger, recipient: d.recipient, channel: d.channel, attempts: d.attempts, accountId: d.account_id };
  }

  /** Pacing, Retry-After and the failing streak per target; disables an endpoint failing for too long. */
  private async updateTarget(m: EntityManager, d: Claimed, result: SendResult, now: Date) {
    const t = m.connection.getMetadata(ChannelTarget).tablePath;
    const pace = d.channel === NotificationChannel.Slack ? new Date(now.getTime() + this.config.NOTIFICATION_SLACK_MIN_INTERVAL_MS) : null;
    if (result.outcome === 'delivered') {
      await m.query(
        `INSERT INTO ${t} (target_key, next_send_at, failing_since, disabled_at, last_error) VALUES ($1, $2, NULL, NULL, NULL)
         ON CONFLICT (target_key) DO UPDATE SET next_send_at = $2, failing_since = NULL, last_error = NULL`,
        [d.target_key, pace],
      );
      return undefined;
    }
    if (result.outcome === 'throttled') {
      const until = new Date(now.getTime() + result.retryAfterMs);
      await m.query(`INSERT INTO ${t} (target_key, next_send_at) VALUES ($1, $2) ON CONFLICT (target_key) DO UPDATE SET next_send_at = GREATEST(${t}.next_send_at, $2)`, [d.target_key, until]);
      return undefined;
    }
    const [row] = await queryRows<{ failing_since: Date; disabled_at: Date | null }>(
      m,
      `INSERT INTO ${t} (target_key, next_send_at, failing_since, last_error) VALUES ($1, $2, $3, $4)
       ON CONFLICT (target_key) DO UPDATE SET next_send_at = $2, failing_since = COALESCE(${t}.failing_since, $3), last_error = $4
       RETURNING failing_since, disabled_at`,
      [d.target_key, pace, now, result.response.slice(0, 1000)],
    );
    if (!row || row.disabled_at || !DISABLEABLE.has(d.channel)) return undefined;
    if (now.getTime() - new Date(row.failing_since).getTime() < this.config.NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS) return undefined;
    await m.query(`UPDATE ${t} SET disabled_at = $2 WHERE target_key = $1`, [d.target_key, now]);
    // Everything still queued for the endpoint is dead-lettered (visible and retryable).
    const table = m.connection.getMetadata(Delivery).tablePath;
    const dropped = await queryRows<Claimed>(
      m,
      `UPDATE ${table} SET status = 'dead-lettered', last_error = $2, next_attempt_at = NULL, lease_until = NULL, updated_at = $3
        WHERE target_key = $1 AND status IN ('pending', 'failed')
        RETURNING id, trigger_event_id, trigger, recipient, account_id, channel, attempts`,
      [d.target_key, 'endpoint disabled', now],
    );
    await enqueueOutbox(m, dropped.map((x) => deliveryEvent(this.view(x), 'dead-lettered', now, 'endpoint disabled')));
    return { recipient: d.recipient, targetKey: d.target_key, channel: d.channel, error: result.response };
  }

  /** Tells the endpoint's owner (in-app and e-mail) and the operators (log) that an endpoint was disabled. */
  private async alertDisabled(a: { recipient: string; targetKey: string; channel: string; error: string }): Promise<void> {
    this.logger.warn({ alert: 'endpoint-disabled', recipient: a.recipient, target: a.targetKey, channel: a.channel, error: a.error }, 'endpoint disabled after failing too long');
    const now = this.clock.now();
    await this.ds.transaction(async (m) => {
      const r = await m.getRepository(Recipient).findOneBy({ csmId: a.recipient });
      const title = `Your ${a.channel} endpoint was disabled`;
      const summary = `Kizuna could not deliver to your ${a.channel} endpoint for ${Math.round(this.config.NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS / 3_600_000)} hours and stopped sending to it. Last error: ${a.error.slice(0, 300)}. Fix the endpoint, then retry its dead-lettered deliveries.`;
      await this.planner.plan(m, {
        triggerEventId: `endpoint-disabled:${a.targetKey}:${now.getTime()}`, trigger: 'endpoint.disabled', recipient: a.recipient, recipientName: r?.name ?? undefined,
        accountId: `recipient:${a.recipient}`, priority: 'high',
        content: { trigger: 'endpoint.disabled' as never, priority: 'high', accountId: '', accountName: '', triggerEventId: '', title, summary, facts: [['Endpoint', a.targetKey]], evidence: [] },
        window: { timeZone: r?.timeZone ?? 'UTC' },
        targets: [
          { channel: NotificationChannel.InApp, address: a.recipient, targetKey: `in-app:${a.recipient}` },
          ...(r ? [{ channel: NotificationChannel.Email, address: r.email, targetKey: targetKey.email(r.email) }] : []),
        ],
      });
    });
    this.kick();
  }
}
