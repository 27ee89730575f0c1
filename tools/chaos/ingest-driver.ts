import type { EventPlan, PlannedMessage, PlannedTicket } from './event-plan';

/** What ingestion acknowledged with 200, per event. */
export interface LedgerEntry {
  eventId: string;
  kind: 'group' | 'track' | 'ticket';
  accountId: string;
  /** First acknowledgement (ms since epoch). */
  ackedAt: number;
  /** How many times it was acknowledged (deliberate duplicates and retries of lost answers). */
  acks: number;
}

export interface DriverStats {
  requests: number;
  acknowledged: number;
  /** Retries by cause: connection refused/reset (ingestion killed), 503 (Kafka unavailable), timeout, other 5xx. */
  retries: { connection: number; unavailable: number; timeout: number; serverError: number };
  /** Answers that are neither 200 nor worth a retry (a bug: the plan only sends valid input). */
  rejected: string[];
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the plan through ingestion's HTTP API like an SDK would: Segment batches, and tickets one
 * after the other per account; every request is retried with the same messageIds until it is
 * answered 200 (ingestion may be dead, restarting, or without Kafka). The ledger records what
 * was acknowledged.
 */
export class IngestDriver {
  readonly ledger = new Map<string, LedgerEntry>();
  readonly stats: DriverStats = { requests: 0, acknowledged: 0, retries: { connection: 0, unavailable: 0, timeout: 0, serverError: 0 }, rejected: [] };
  private aborted = false;

  constructor(
    private readonly url: () => string,
    private readonly writeKey: string,
    private readonly log: (msg: string) => void,
  ) {}

  abort(): void {
    this.aborted = true;
  }

  /** Sends everything, paced over `durationMs`; resolves when every request was acknowledged (or aborted). */
  async run(plan: EventPlan, o: { durationMs: number; batchSize: number; concurrency: number }): Promise<void> {
    const batches: PlannedMessage[][] = [];
    for (let i = 0; i < plan.sendOrder.length; i += o.batchSize) batches.push(plan.sendOrder.slice(i, i + o.batchSize));
    const started = Date.now();
    let next = 0;
    const batchWorker = async () => {
      for (;;) {
        const k = next++;
        const batch = batches[k];
        if (!batch || this.aborted) return;
        // Pacing (not synchronisation): the load is spread over the run, so the kills hit it throughout.
        const due = started + (k / batches.length) * o.durationMs;
        if (due > Date.now()) await delay(due - Date.now());
        await this.send('/v1/batch', { batch: batch.map((m) => m.body) }, batch.map((m) => ({ eventId: m.eventId, kind: m.kind, accountId: m.accountId })));
      }
    };
    const chains = [...plan.tickets.values()];
    let nextChain = 0;
    const ticketWorker = async () => {
      for (;;) {
        const k = nextChain++;
        const chain = chains[k];
        if (!chain || this.aborted) return;
        // Tickets of an account one after the other, in creation order, spread over the run.
        for (const [j, t] of chain.entries()) {
          const due = started + ((k + j / chain.length) / chains.length) * o.durationMs;
          if (due > Date.now()) await delay(due - Date.now());
          await this.ticket(t);
          if (plan.duplicateTickets.has(t.ticketId)) await this.ticket(t); // a help desk re-delivering the same version
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: o.concurrency }, batchWorker),
      ...Array.from({ length: Math.min(2, chains.length) }, ticketWorker),
    ]);
  }

  private ticket(t: PlannedTicket): Promise<void> {
    return this.send('/v1/support/tickets', t.body, [{ eventId: t.eventId, kind: 'ticket', accountId: t.accountId }]);
  }

  private async send(path: string, body: unknown, entries: Omit<LedgerEntry, 'ackedAt' | 'acks'>[]): Promise<void> {
    const payload = JSON.stringify(body);
    const auth = `Basic ${Buffer.from(`${this.writeKey}:`).toString('base64')}`;
    for (let attempt = 1; !this.aborted; attempt++) {
      this.stats.requests++;
      let res: Response | undefined;
      let failure: keyof DriverStats['retries'];
      try {
        res = await fetch(`${this.url()}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: payload,
          signal: AbortSignal.timeout(20_000),
        });
        if (res.status === 200) {
          await res.arrayBuffer();
          const now = Date.now();
          for (const e of entries) {
            const seen = this.ledger.get(e.eventId);
            if (seen) seen.acks++;
            else {
              this.ledger.set(e.eventId, { ...e, ackedAt: now, acks: 1 });
              this.stats.acknowledged++;
            }
          }
          return;
        }
        const text = await res.text().catch(() => '');
        if (res.status === 503) failure = 'unavailable';
        else if (res.status >= 500) failure = 'serverError';
        else {
          this.stats.rejected.push(`${path} answered ${res.status}: ${text.slice(0, 300)}`);
          return;
        }
      } catch (e) {
        failure = (e as Error).name === 'TimeoutError' ? 'timeout' : 'connection';
      }
      this.stats.retries[failure]++;
      if (attempt % 20 === 0) this.log(`${path}: still retrying after ${attempt} attempts (last: ${failure})`);
      await delay(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  }
}
