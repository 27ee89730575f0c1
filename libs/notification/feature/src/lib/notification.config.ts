import { Type } from 'class-transformer';
import { EnvBoolean } from '@kizuna/shared/config';
import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Max, Min, Validate, type ValidatorConstraintInterface, ValidatorConstraint } from 'class-validator';
import { DEFAULT_RETRY_SCHEDULE, parseSchedule } from '@kizuna/notification/domain';

const bool = EnvBoolean;

@ValidatorConstraint({ name: 'retrySchedule' })
class RetryScheduleConstraint implements ValidatorConstraintInterface {
  private problem = '';
  validate(v: unknown): boolean {
    try {
      parseSchedule(String(v));
      return true;
    } catch (e) {
      this.problem = (e as Error).message;
      return false;
    }
  }
  defaultMessage(): string {
    return this.problem;
  }
}

/** notification's own settings (env var names; defaults as assigned). */
export class NotificationConfig {
  /** SMTP server for the e-mail channel. */
  @IsString() NOTIFICATION_SMTP_HOST = 'localhost';
  @Type(() => Number) @IsInt() @Min(1) @Max(65535) NOTIFICATION_SMTP_PORT = 587;
  /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
  @bool() @IsBoolean() NOTIFICATION_SMTP_SECURE = false;
  /** false: refuse to send without STARTTLS. */
  @bool() @IsBoolean() NOTIFICATION_SMTP_REQUIRE_TLS = false;
  @IsOptional() @IsString() NOTIFICATION_SMTP_USER?: string = undefined;
  @IsOptional() @IsString() NOTIFICATION_SMTP_PASSWORD?: string = undefined;
  @IsString() NOTIFICATION_SMTP_FROM = 'Kizuna <kizuna@localhost>';
  /** Pooled SMTP connections per instance (messages go out in parallel over them). */
  @Type(() => Number) @IsInt() @Min(1) @Max(100) NOTIFICATION_SMTP_MAX_CONNECTIONS = 5;

  /** Allow webhook and Slack URLs that resolve to loopback/private/link-local addresses (local tests only). */
  @bool() @IsBoolean() NOTIFICATION_ALLOW_PRIVATE_TARGETS = false;

  /** Delays between attempts; after the last one a delivery is dead-lettered. */
  @Validate(RetryScheduleConstraint) NOTIFICATION_RETRY_SCHEDULE = DEFAULT_RETRY_SCHEDULE;

  /** An attempt not answered with 2xx within this time fails. */
  @Type(() => Number) @IsInt() @Min(100) NOTIFICATION_SEND_TIMEOUT_MS = 15_000;

  /** At most one message per this interval per Slack webhook. */
  @Type(() => Number) @IsInt() @Min(0) NOTIFICATION_SLACK_MIN_INTERVAL_MS = 1000;

  /** How often the delivery worker looks for due deliveries (it is also woken by new ones). */
  @Type(() => Number) @IsInt() @Min(10) NOTIFICATION_DELIVERY_POLL_MS = 500;
  @Type(() => Number) @IsInt() @Min(1) @Max(1000) NOTIFICATION_DELIVERY_BATCH = 50;
  /** Deliveries sent at the same time. */
  @Type(() => Number) @IsInt() @Min(1) @Max(256) NOTIFICATION_DELIVERY_CONCURRENCY = 16;

  /** A webhook or Slack endpoint failing without a success for this long is disabled (with an alert). */
  @Type(() => Number) @IsInt() @Min(60_000) NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS = 3 * 86_400_000;

  /** 32 bytes, base64: encrypts webhook secrets at rest and signs unsubscribe links. Without it, webhook endpoints cannot be stored. */
  @IsOptional() @IsString() NOTIFICATION_SECRET_KEY?: string = undefined;

  /** Where this service is reached from outside (unsubscribe links in play e-mails). */
  @IsUrl({ require_tld: false, require_protocol: true }) NOTIFICATION_PUBLIC_URL = 'http://localhost:3005';

  /** How often feature-adoption plays look for accounts that never used the feature. */
  @Type(() => Number) @IsInt() @Min(1000) NOTIFICATION_PLAY_SWEEP_INTERVAL_MS = 3_600_000;
}
