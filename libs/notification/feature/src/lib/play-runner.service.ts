import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, NotificationChannel, type Clock } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { PeriodicTask, SERVICE_LOGGER, SecretBox } from '@kizuna/shared/service-kit';
import { AccountContact, AccountDirectory, AccountFeatureUse, ContactOptOut, PlaySend } from '@kizuna/notification/data-access';
import { inAudience, renderPlayEmail, underFrequencyCap, type Play, type TriggerKind } from '@kizuna/notification/domain';
import { NotificationConfig } from './notification.config';
import { NotificationPlanner, targetKey } from './notification-planner.service';
import { NotificationSettings } from './notification-settings.service';
import { DeliveryWorker } from './delivery-worker.service';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

/**
 * Tech-touch plays: automated e-mails to a customer's admin contacts, configured as data (audience by
 * touch model and segment, frequency cap per contact, opt-out). Onboarding-stalled plays run in the
 * consumer's transaction; feature-adoption plays run on a periodic sweep.
 */
@Injectable()
export class PlayRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config = loadConfig(NotificationConfig);
  private readonly box = this.config.NOTIFICATION_SECRET_KEY ? new SecretBox(this.config.NOTIFICATION_SECRET_KEY, 'NOTIFICATION_SECRET_KEY') : undefined;
  private readonly periodic: PeriodicTask;

  constructor(
    private readonly ds: DataSource,
    private readonly settings: NotificationSettings,
    private readonly planner: NotificationPlanner,
    private readonly worker: DeliveryWorker,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.periodic = new PeriodicTask('feature adoption plays', this.config.NOTIFICATION_PLAY_SWEEP_INTERVAL_MS, () => this.sweepFeatureAdoption(), logger, { clock: this.clock });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.periodic.stop();
  }

  /** The link a contact follows to opt out (when NOTIFICATION_SECRET_KEY is set). */
  unsubscribeUrl(email: string): string | undefined {
    if (!this.box) return undefined;
    const u = new URL('/v1/unsubscribe', this.config.NOTIFICATION_PUBLIC_URL);
    u.searchParams.set('email', email);
    u.searchParams.set('token', this.box.token('unsubscribe', email.toLowerCase()));
    return u.toString();
  }

  unsubscribeTokenValid(email: string, token: string): boolean {
    return !!this.box && this.box.tokenMatches('unsubscribe', email.toLowerCase(), token);
  }

  /** Onboarding stalled: every enabled play for the milestone, in the consumer's transaction. */
  async onOnboardingStalled(m: EntityManager, accountId: string, triggerEventId: string, milestone: string): Promise<number> {
    const { value: plays } = await this.settings.plays();
    let n = 0;
    for (const play of plays.filter((p) => p.enabled && p.trigger === 'onboarding.stalled' && (!p.milestones?.length || p.milestones.includes(milestone)))) {
      n += await this.run(m, play, accountId, `${triggerEventId}:${play.id}`, { milestone });
    }
    return n;
  }

  /** Feature never adopted: accounts in the audience, known for `afterDays`, that never used the feature. */
  async sweepFeatureAdoption(): Promise<number> {
    const { value: plays } = await this.settings.plays();
    const now = this.clock.now();
    let n = 0;
    for (const play of plays.filter((p) => p.enabled && p.trigger === 'feature.not-adopted' && p.feature)) {
      const since = new Date(now.getTime() - (play.afterDays ?? 14) * 86_400_000);
      const rows: { account_id: string }[] = await this.ds.query(
        `SELECT a.account_id FROM ${tableOf(this.ds.manager, AccountDirectory)} a
          WHERE a.first_seen_at <= $1 AND a.touch_model = ANY($2)
            AND NOT EXISTS (SELECT 1 FROM ${tableOf(this.ds.manager, AccountFeatureUse)} f WHERE f.account_id = a.account_id AND f.feature = $3)
          ORDER BY a.account_id`,
        [since, play.audience.touchModels, play.feature],
      );
      // One trigger id per account and cap window: a sweep repeated within the window plans nothing new.
      const window = Math.floor(now.getTime() / (Math.max(play.frequencyCapDays, 1) * 86_400_000));
      for (const { account_id } of rows) {
        n += await this.ds.transaction((m) => this.run(m, play, account_id, `play:${play.id}:${account_id}:${window}`, { feature: play.feature as string }));
      }
    }
    if (n) this.worker.kick();
    this.logger.info({ deliveries: n }, 'feature adoption plays swept');
    return n;
  }

  private async run(m: EntityManager, play: Play, accountId: string, triggerEventId: string, values: { milestone?: string; feature?: string }): Promise<number> {
    const account = await m.getRepository(AccountDirectory).findOneBy({ accountId });
    if (!account || !inAudience(play, { touchModel: account.touchModel, segments: account.segments })) return 0;
    const contacts: AccountContact[] = await m
      .getRepository(AccountContact)
      .createQueryBuilder('c')
      .where('c.account_id = :accountId AND c.is_admin', { accountId })
      .andWhere(`NOT EXISTS (SELECT 1 FROM ${tableOf(m, ContactOptOut)} o WHERE o.email = lower(c.email))`)
      .orderBy('c.user_id')
      .getMany();
    const now = this.clock.now();
    let n = 0;
    for (const contact of contacts) {
      const email = contact.email.toLowerCase();
      const [last] = await m.query(`SELECT sent_at FROM ${tableOf(m, PlaySend)} WHERE play_id = $1 AND email = $2 FOR UPDATE`, [play.id, email]);
      if (!underFrequencyCap(last ? new Date(last.sent_at) : null, now, play.frequencyCapDays)) continue;
      const mail = renderPlayEmail(play, { account: account.name ?? accountId, name: contact.name ?? 'there', ...values, ...(this.unsubscribeUrl(email) ? { unsubscribe: this.unsubscribeUrl(email) as string } : {}) });
      const planned = await this.planner.plan(m, {
        triggerEventId, trigger: `play:${play.id}`, recipient: `contact:${accountId}:${contact.userId}`, accountId, priority: 'normal',
        content: {
          trigger: `play:${play.id}` as TriggerKind, priority: 'normal', accountId, accountName: account.name ?? accountId, triggerEventId,
          title: mail.subject, summary: mail.text, facts: [], evidence: [], email: mail,
        },
        window: { timeZone: 'UTC' },
        targets: [{ channel: NotificationChannel.Email, address: contact.email, targetKey: targetKey.email(contact.email) }],
      });
      if (planned) {
        await m.query(
          `INSERT INTO ${tableOf(m, PlaySend)} (play_id, email, sent_at) VALUES ($1, $2, $3) ON CONFLICT (play_id, email) DO UPDATE SET sent_at = EXCLUDED.sent_at`,
          [play.id, email, now],
        );
      }
      n += planned;
    }
    return n;
  }
}
