import { BadRequestException, ConflictException, Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK, NotificationChannel, type Clock } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { ChannelTarget, Recipient, type StoredWebhookEndpoint } from '@kizuna/notification/data-access';
import { generateWebhookSecret, isTimeZone, isTrigger, isWebhookSecret } from '@kizuna/notification/domain';
import type { RecipientDto } from './dto';
import { NotificationConfig } from './notification.config';
import { TargetRefusedError, assertPublicTarget } from './outbound-http';
import { targetKey } from './notification-planner.service';
import { SecretBox } from '@kizuna/shared/service-kit';

const CHANNELS = new Set<string>(Object.values(NotificationChannel));

export interface RecipientView {
  csmId: string;
  email: string;
  name: string | null;
  timeZone: string;
  channels: Partial<Record<string, NotificationChannel[]>>;
  slackWebhookUrl: string | null;
  /** Secrets are never shown again: only how many and their last four characters. */
  webhooks: { id: string; url: string; triggers?: string[]; secrets: string[] }[];
  quietHours: { start: string; end: string } | null;
  digest: { enabled: boolean; hour: number };
  updatedAt: string;
}

/** Recipients and their preferences: validated (time zone, channels, SSRF-checked URLs, secrets), secrets sealed. */
@Injectable()
export class RecipientPreferences {
  private readonly config = loadConfig(NotificationConfig);
  private readonly box = this.config.NOTIFICATION_SECRET_KEY ? new SecretBox(this.config.NOTIFICATION_SECRET_KEY, 'NOTIFICATION_SECRET_KEY') : undefined;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async get(csmId: string): Promise<RecipientView | null> {
    const r = await this.ds.getRepository(Recipient).findOneBy({ csmId });
    return r ? this.view(r) : null;
  }

  /** Creates or replaces a recipient's preferences; returns the view and any secret generated now (shown once). */
  async put(csmId: string, dto: RecipientDto): Promise<{ recipient: RecipientView; generatedSecrets: Record<string, string> }> {
    const problems: string[] = [];
    const timeZone = dto.timeZone ?? 'UTC';
    if (!isTimeZone(timeZone)) problems.push(`timeZone: "${timeZone}" is not an IANA time zone`);
    for (const [trigger, channels] of Object.entries(dto.channels ?? {})) {
      if (!isTrigger(trigger)) problems.push(`channels: unknown trigger "${trigger}"`);
      if (!Array.isArray(channels) || channels.some((c) => !CHANNELS.has(c))) problems.push(`channels.${trigger}: a list of ${[...CHANNELS].join(', ')}`);
    }
    const urls = [...(dto.slackWebhookUrl ? [['slackWebhookUrl', dto.slackWebhookUrl]] : []), ...(dto.webhooks ?? []).map((w) => [`webhooks.${w.id}.url`, w.url])];
    for (const [field, url] of urls) {
      try {
        await assertPublicTarget(url as string, this.config.NOTIFICATION_ALLOW_PRIVATE_TARGETS);
      } catch (e) {
        if (e instanceof TargetRefusedError) problems.push(`${field}: ${e.message}`);
        else throw e;
      }
    }
    const ids = (dto.webhooks ?? []).map((w) => w.id);
    if (new Set(ids).size !== ids.length) problems.push('webhooks: endpoint ids must be unique');
    for (const w of dto.webhooks ?? []) {
      for (const s of w.secrets ?? []) if (!isWebhookSecret(s)) problems.push(`webhooks.${w.id}.secrets: each secret is whsec_ followed by 16 to 64 base64 bytes`);
    }
    if (problems.length) throw new BadRequestException(problems);
    if ((dto.webhooks ?? []).length && !this.box) throw new ConflictException('webhook endpoints cannot be stored: set NOTIFICATION_SECRET_KEY (32 bytes, base64)');

    const email = dto.email.toLowerCase();
    const generatedSecrets: Record<string, string> = {};
    const saved = await this.ds.transaction(async (m) => {
      const repo = m.getRepository(Recipient);
      const other = await repo.findOneBy({ email });
      if (other && other.csmId !== csmId) throw new ConflictException(`${email} already belongs to recipient ${other.csmId}`);
      const existing = await repo.findOneBy({ csmId });
      const webhooks: StoredWebhookEndpoint[] = (dto.webhooks ?? []).map((w) => {
        const kept = existing?.webhooks.find((x) => x.id === w.id);
        let secrets = (w.secrets ?? []).map((s) => (this.box as SecretBox).seal(s));
        if (!w.secrets?.length) {
          if (kept?.secrets.length) secrets = kept.secrets;
          else {
            const fresh = generateWebhookSecret();
            generatedSecrets[w.id] = fresh;
            secrets = [(this.box as SecretBox).seal(fresh)];
          }
        }
        return { id: w.id, url: w.url, secrets, ...(w.triggers ? { triggers: w.triggers } : {}) };
      });
      const row: Recipient = {
        csmId, email, name: dto.name ?? null, timeZone, quietStart: dto.quietHours?.start ?? null, quietEnd: dto.quietHours?.end ?? null,
        digestEnabled: dto.digest?.enabled ?? false, digestHour: dto.digest?.hour ?? 9, channels: dto.channels ?? {},
        slackWebhookUrl: dto.slackWebhookUrl ?? null, webhooks, updatedAt: this.clock.now(),
      };
      await repo.save(row);
      // Saving an endpoint again re-enables it (the owner fixed it).
      const keys = [...(row.slackWebhookUrl ? [targetKey.slack(row.slackWebhookUrl)] : []), ...webhooks.map((w) => targetKey.webhook(csmId, w.id))];
      if (keys.length) {
        await m.createQueryBuilder().update(ChannelTarget).set({ disabledAt: null, failingSince: null }).where('target_key IN (:...keys)', { keys }).execute();
      }
      return row;
    });
    return { recipient: this.view(saved), generatedSecrets };
  }

  private view(r: Recipient): RecipientView {
    const hint = (sealed: string) => {
      try {
        const s = this.box?.open(sealed) ?? '';
        return `whsec_…${s.slice(-4)}`;
      } catch {
        return 'whsec_…(unreadable)';
      }
    };
    return {
      csmId: r.csmId, email: r.email, name: r.name, timeZone: r.timeZone, channels: r.channels, slackWebhookUrl: r.slackWebhookUrl,
      webhooks: r.webhooks.map((w) => ({ id: w.id, url: w.url, ...(w.triggers ? { triggers: w.triggers } : {}), secrets: w.secrets.map(hint) })),
      quietHours: r.quietStart && r.quietEnd ? { start: r.quietStart, end: r.quietEnd } : null,
      digest: { enabled: r.digestEnabled, hour: r.digestHour },
      updatedAt: r.updatedAt.toISOString(),
    };
  }
}
