import type { NotificationChannel } from '@kizuna/shared/contracts';
import type { EmailContent, SlackMessage } from '@kizuna/notification/domain';

/** What the delivery worker asks a channel to send (one message, possibly a digest of several). */
export type OutboundMessage =
  | { channel: NotificationChannel.Email; deliveryId: string; to: string; content: EmailContent; headers?: Record<string, string> }
  | { channel: NotificationChannel.Slack; deliveryId: string; url: string; message: SlackMessage }
  | { channel: NotificationChannel.Webhook; deliveryId: string; url: string; body: string; headers: Record<string, string> };

/** The outcome of one attempt. */
export type SendResult =
  | { outcome: 'delivered'; response: string }
  /** 429: try again after `retryAfterMs`; does not use up an attempt. */
  | { outcome: 'throttled'; response: string; retryAfterMs: number }
  /** `permanent`: retrying cannot help (dead-letter now). */
  | { outcome: 'failed'; response: string; permanent?: boolean };

/** One channel: a small adapter that sends and reports what the provider answered. */
export interface ChannelAdapter<M extends OutboundMessage = OutboundMessage> {
  readonly channel: M['channel'];
  send(message: M): Promise<SendResult>;
  close?(): Promise<void> | void;
}

/** Retry-After in seconds or as an HTTP date, in ms from `now`; default 1 s, at most 1 h. */
export function retryAfterMs(header: string | string[] | undefined, now: Date): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return 1000;
  const seconds = Number(v);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : new Date(v).getTime() - now.getTime();
  return Math.min(Math.max(Number.isFinite(ms) ? ms : 1000, 0), 3_600_000);
}
