import { connect, type Socket } from 'node:net';
import { createTransport, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { NotificationChannel } from '@kizuna/shared/contracts';
import type { NotificationConfig } from '../notification.config';
import type { ChannelAdapter, OutboundMessage, SendResult } from './channel';

type EmailMessage = Extract<OutboundMessage, { channel: NotificationChannel.Email }>;

/** E-mail over SMTP (nodemailer, pooled connections): accepted by the server = delivered. */
export class EmailChannel implements ChannelAdapter<EmailMessage> {
  readonly channel = NotificationChannel.Email;
  private readonly transport: Transporter<SMTPPool.SentMessageInfo>;

  constructor(
    private readonly config: NotificationConfig,
    /** Opens the TCP connection to the SMTP server (a test may wrap it). */
    openSocket: typeof openSmtpSocket = openSmtpSocket,
  ) {
    const auth = config.NOTIFICATION_SMTP_USER ? { user: config.NOTIFICATION_SMTP_USER, pass: config.NOTIFICATION_SMTP_PASSWORD ?? '' } : undefined;
    this.transport = createTransport({
      pool: true,
      maxConnections: config.NOTIFICATION_SMTP_MAX_CONNECTIONS,
      // Reconnecting costs a handshake in the middle of a burst: keep a connection for many messages.
      maxMessages: 1000,
      host: config.NOTIFICATION_SMTP_HOST,
      port: config.NOTIFICATION_SMTP_PORT,
      secure: config.NOTIFICATION_SMTP_SECURE,
      requireTLS: config.NOTIFICATION_SMTP_REQUIRE_TLS,
      ...(auth ? { auth } : {}),
      connectionTimeout: config.NOTIFICATION_SEND_TIMEOUT_MS,
      greetingTimeout: config.NOTIFICATION_SEND_TIMEOUT_MS,
      socketTimeout: config.NOTIFICATION_SEND_TIMEOUT_MS,
      getSocket: (options, callback) => openSocket(options, config.NOTIFICATION_SEND_TIMEOUT_MS, callback),
    });
  }

  async send(m: EmailMessage): Promise<SendResult> {
    try {
      const info = await this.transport.sendMail({
        from: this.config.NOTIFICATION_SMTP_FROM,
        to: m.to,
        subject: m.content.subject,
        text: m.content.text,
        html: m.content.html,
        // The same Message-ID on every attempt, so a receiving system can recognise a duplicate.
        messageId: `<${m.deliveryId}@kizuna.notification>`,
        headers: { 'X-Kizuna-Delivery': m.deliveryId, ...m.headers },
      });
      if (info.rejected.length) return { outcome: 'failed', response: `rejected: ${info.response}` };
      return { outcome: 'delivered', response: info.response };
    } catch (e) {
      const err = e as Error & { responseCode?: number; response?: string; code?: string };
      const response = err.response ?? `${err.code ?? 'error'}: ${err.message}`;
      // 5xx: the server refuses this message for good (unknown mailbox, policy); 4xx and network errors are retried.
      return { outcome: 'failed', response, permanent: err.responseCode !== undefined && err.responseCode >= 500 && err.responseCode < 600 };
    }
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * Opens the TCP connection to the SMTP server with Nagle's algorithm off (nodemailer leaves it on;
 * TLS, implicit or STARTTLS, is still nodemailer's, over this socket). With it on, the end of a
 * message's DATA (written in several chunks, to a server that answers only after the final dot)
 * waited for the server's delayed ACK: 44 ms per message on loopback, 1.6 ms without it.
 */
export function openSmtpSocket(
  options: { host?: string | undefined; port?: number | undefined },
  timeoutMs: number,
  callback: (err: Error | null, socketOptions?: { connection: Socket }) => void,
): void {
  const socket = connect({ host: options.host ?? 'localhost', port: options.port ?? 587, noDelay: true, keepAlive: true, timeout: timeoutMs });
  const fail = (e: Error) => {
    socket.destroy();
    callback(e);
  };
  const onTimeout = () => fail(Object.assign(new Error(`SMTP connection to ${options.host}:${options.port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
  socket.once('error', fail);
  socket.once('timeout', onTimeout);
  socket.once('connect', () => {
    socket.removeListener('error', fail);
    socket.removeListener('timeout', onTimeout);
    socket.setTimeout(0); // nodemailer sets its own socket timeout from here on
    callback(null, { connection: socket });
  });
}
