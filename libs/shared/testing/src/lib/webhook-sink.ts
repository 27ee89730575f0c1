import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the sink answered 204: path, headers, the raw body, when (epoch ms). */
export interface SunkWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A real HTTP server on a free local port that keeps every POST it receives and answers 204 (tests'
 * webhook receiver). It does not deduplicate: a test sees every arrival, `webhook-id` included.
 */
export class WebhookSink {
  readonly requests: SunkWebhook[] = [];
  /** How long the receiver takes to answer each request (0: at once). */
  answerDelayMs = 0;
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    // A sender killed mid-request resets the connection: that request did not arrive.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      this.requests.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      if (this.answerDelayMs > 0) setTimeout(() => res.writeHead(204).end(), this.answerDelayMs);
      else res.writeHead(204).end();
    });
  });

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
