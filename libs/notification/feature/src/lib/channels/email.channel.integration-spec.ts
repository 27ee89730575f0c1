import { createServer, type AddressInfo, type Socket } from 'node:net';
import { NotificationChannel } from '@kizuna/shared/contracts';
import { SmtpSink } from '@kizuna/shared/testing';
import { NotificationConfig } from '../notification.config';
import { EmailChannel, openSmtpSocket } from './email.channel';

const configFor = (port: number) => Object.assign(new NotificationConfig(), { NOTIFICATION_SMTP_HOST: '127.0.0.1', NOTIFICATION_SMTP_PORT: port, NOTIFICATION_SMTP_MAX_CONNECTIONS: 1 });

const message = (i: number) => ({
  channel: NotificationChannel.Email as const,
  deliveryId: `d-${i}`,
  to: 'csm@example.com',
  // A body of several KB: nodemailer writes DATA in several chunks, the case Nagle's algorithm delayed.
  content: { subject: `Escalation ${i}`, text: 'Context line of the escalation. '.repeat(200), html: `<p>${'Context line of the escalation. '.repeat(200)}</p>` },
});

describe('EmailChannel (a real SMTP server on loopback)', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await new SmtpSink().start();
  });
  afterAll(() => sink.stop());

  it('sends over one pooled connection, each message accepted with its recipient and Message-ID', async () => {
    const channel = new EmailChannel(configFor(sink.port));
    try {
      for (let i = 0; i < 5; i++) expect(await channel.send(message(i))).toEqual(expect.objectContaining({ outcome: 'delivered' }));
    } finally {
      channel.close();
    }
    const mine = sink.mails.filter((m) => m.subject.startsWith('Escalation '));
    expect(mine.map((m) => m.messageId)).toEqual([0, 1, 2, 3, 4].map((i) => `<d-${i}@kizuna.notification>`));
    expect(mine.every((m) => m.to.join() === 'csm@example.com')).toBe(true);
  });

  it('opens its SMTP connection with Nagle\'s algorithm off (each message otherwise waited 40+ ms for a delayed ACK)', async () => {
    // With nodemailer's own socket every message on loopback took 44 ms: the last chunk of DATA waited
    // for the server's delayed ACK (docs/benchmarks.md). Timing is not asserted here (a busy machine
    // makes it noisy); the connection the channel opens is.
    const opened: Socket[] = [];
    const channel = new EmailChannel(configFor(sink.port), (options, timeoutMs, callback) =>
      openSmtpSocket(options, timeoutMs, (err, socketOptions) => {
        if (socketOptions) opened.push(socketOptions.connection);
        callback(err, socketOptions);
      }),
    );
    try {
      expect((await channel.send(message(100))).outcome).toBe('delivered');
    } finally {
      channel.close();
    }
    expect(opened).toHaveLength(1);
    // Node's own record of the option on the socket the message went over (net.Socket keeps it for the handle).
    const socket = opened[0] as Socket;
    const flag = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'kSetNoDelay');
    expect(flag).toBeDefined();
    expect((socket as unknown as Record<symbol, unknown>)[flag as symbol]).toBe(true);
  });

  it('reports a refused connection as a retryable failure that names the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const channel = new EmailChannel(configFor(port));
    try {
      const result = await channel.send(message(200));
      expect(result).toEqual(expect.objectContaining({ outcome: 'failed', permanent: false }));
      expect(result.response).toContain('ECONNREFUSED');
    } finally {
      channel.close();
    }
  });
});
