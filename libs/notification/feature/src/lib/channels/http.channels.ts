import { NotificationChannel, type Clock } from '@kizuna/shared/contracts';
import type { NotificationConfig } from '../notification.config';
import { TargetRefusedError, postJson, type HttpAnswer } from '../outbound-http';
import { retryAfterMs, type ChannelAdapter, type OutboundMessage, type SendResult } from './channel';

const describe = (a: HttpAnswer) => `HTTP ${a.status}${a.body ? ` ${a.body.slice(0, 500)}` : ''}`;

async function post(url: string, body: string, headers: Record<string, string>, config: NotificationConfig, clock: Clock): Promise<SendResult> {
  try {
    const answer = await postJson(url, body, headers, { timeoutMs: config.NOTIFICATION_SEND_TIMEOUT_MS, allowPrivate: config.NOTIFICATION_ALLOW_PRIVATE_TARGETS });
    if (answer.status >= 200 && answer.status < 300) return { outcome: 'delivered', response: describe(answer) };
    if (answer.status === 429) return { outcome: 'throttled', response: describe(answer), retryAfterMs: retryAfterMs(answer.headers['retry-after'], clock.now()) };
    // 3xx is a failure (redirects are not followed); so is every other status.
    return { outcome: 'failed', response: describe(answer) };
  } catch (e) {
    return { outcome: 'failed', response: `${(e as Error).message}`, permanent: e instanceof TargetRefusedError };
  }
}

type SlackOut = Extract<OutboundMessage, { channel: NotificationChannel.Slack }>;
type WebhookOut = Extract<OutboundMessage, { channel: NotificationChannel.Webhook }>;

/** Slack-compatible incoming webhooks: a JSON message with blocks. Pacing and order are the worker's. */
export class SlackChannel implements ChannelAdapter<SlackOut> {
  readonly channel = NotificationChannel.Slack;
  constructor(private readonly config: NotificationConfig, private readonly clock: Clock) {}

  send(m: SlackOut): Promise<SendResult> {
    return post(m.url, JSON.stringify(m.message), {}, this.config, this.clock);
  }
}

/** Generic outbound webhooks, signed per Standard Webhooks (the headers come signed from the worker). */
export class WebhookChannel implements ChannelAdapter<WebhookOut> {
  readonly channel = NotificationChannel.Webhook;
  constructor(private readonly config: NotificationConfig, private readonly clock: Clock) {}

  send(m: WebhookOut): Promise<SendResult> {
    return post(m.url, m.body, m.headers, this.config, this.clock);
  }
}
