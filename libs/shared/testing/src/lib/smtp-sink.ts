import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the sink accepted: envelope recipients, the raw message, its subject and Message-ID, when (epoch ms). */
export interface SunkMail {
  to: string[];
  raw: string;
  subject: string;
  messageId: string | undefined;
  at: number;
}

/** A real SMTP server on a free local port that keeps every message it accepts (tests' mail sink). */
export class SmtpSink {
  readonly mails: SunkMail[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, done) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.mails.push({
          to: session.envelope.rcptTo.map((r) => r.address), raw, subject: /^Subject: (.*)$/m.exec(raw)?.[1] ?? '',
          messageId: /^Message-ID: *(<[^>\r\n]*>)/im.exec(raw)?.[1], at: Date.now(),
        });
        done();
      });
    },
  });

  /** Connection errors (a client killed mid-session resets its socket); kept, never thrown. */
  readonly errors: Error[] = [];

  constructor() {
    this.server.on('error', (e: Error) => this.errors.push(e));
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
