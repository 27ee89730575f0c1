import { seededRandom } from '@kizuna/shared/testing';
import { ingestEventId } from '@kizuna/ingestion/domain';

/**
 * What the crash-replay harness sends through ingestion's HTTP API, decided up front from a seed:
 * Segment group and track calls (with duplicate messageIds mixed into later batches), help-desk
 * tickets that must open a repeat-inquiries escalation (3 or 4 of one category within 14 days) or
 * must not (2 of one category and 1 of another), and seat-limit events that open one expansion
 * escalation. Every message knows the CloudEvents id ingestion derives for it, so the state of each
 * service can be checked against the ledger event by event.
 */

export const CHAOS_SOURCE_ID = 'default'; // the source of INGESTION_BOOTSTRAP_WRITE_KEY
export const REPEAT_CATEGORY = 'billing';
export const EXPANSION_EVENT = 'Seat Limit Reached';
const PRODUCT_EVENTS = ['Report Viewed', 'Dashboard Opened', 'Report Shared', 'Export Created', 'Workspace Created', 'Teammate Invited', 'Search Run'];
const DAY_MS = 24 * 3600 * 1000;

export interface PlannedMessage {
  messageId: string;
  /** The CloudEvents id ingestion gives it (deterministic in source and messageId). */
  eventId: string;
  kind: 'group' | 'track';
  accountId: string;
  /** Event time (ISO) and its UTC day. */
  timestamp: string;
  day: string;
  event?: string;
  /** The Segment message as sent. */
  body: Record<string, unknown>;
}

export interface PlannedTicket {
  ticketId: string;
  eventId: string;
  accountId: string;
  category: string;
  body: Record<string, unknown>;
}

/** A CSM of the run's roster: owns every n-th account, receives its escalations and health alerts. */
export interface PlannedCsm {
  id: string;
  name: string;
  email: string;
}

export interface EventPlan {
  runId: string;
  accounts: string[];
  /** The roster (escalation-routing) and the notification recipients (e-mail and a webhook each). */
  csms: PlannedCsm[];
  /** Each account's owner CSM (the group call's ownerCsmEmail). */
  ownerOf: Map<string, PlannedCsm>;
  /** Distinct messages in their send order (group calls first). */
  messages: PlannedMessage[];
  /** The send order with the deliberate duplicates (the same message again, in a later batch). */
  sendOrder: PlannedMessage[];
  /** Per account, its tickets in creation order (sent one after the other). */
  tickets: Map<string, PlannedTicket[]>;
  /** Tickets sent twice on purpose (after the first was acknowledged). */
  duplicateTickets: Set<string>;
  repeatAccounts: Set<string>;
  expansionAccounts: Set<string>;
}

export interface PlanOptions {
  runId: string;
  productEvents: number;
  accounts: number;
  /** Share of messages and tickets sent a second time. */
  duplicateRate: number;
  /** Event times spread over this many days before `now`. */
  windowDays: number;
  now: Date;
  seed: number;
}


export function planEvents(o: PlanOptions): EventPlan {
  const rnd = seededRandom(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const accounts = Array.from({ length: o.accounts }, (_, i) => `chaos-${o.runId}-a${String(i).padStart(5, '0')}`);
  const csms: PlannedCsm[] = Array.from({ length: 4 }, (_, k) => ({ id: `chaos-${o.runId}-csm${k}`, name: `Chaos CSM ${k}`, email: `csm${k}.${o.runId}@chaos.example.com` }));
  const ownerOf = new Map(accounts.map((a, i) => [a, csms[i % csms.length] as PlannedCsm]));
  const now = o.now.getTime();
  const from = now - o.windowDays * DAY_MS;
  const messages: PlannedMessage[] = [];
  const message = (kind: PlannedMessage['kind'], accountId: string, n: number, at: number, body: Record<string, unknown>, event?: string) => {
    const messageId = `${o.runId}-${kind}-${n}`;
    const timestamp = new Date(at).toISOString();
    const m: PlannedMessage = {
      messageId, eventId: ingestEventId(CHAOS_SOURCE_ID, messageId), kind, accountId, timestamp, day: timestamp.slice(0, 10),
      body: { ...body, messageId, timestamp },
    };
    if (event) m.event = event;
    messages.push(m);
  };
  accounts.forEach((accountId, i) => {
    message('group', accountId, i, from, {
      type: 'group', userId: `${accountId}-admin`, groupId: accountId,
      traits: { name: `Chaos ${i}`, ownerCsmEmail: ownerOf.get(accountId)?.email, plan: pick(['pro', 'business', 'enterprise']), seats: 10 + Math.floor(rnd() * 90), arr: 5_000 + Math.floor(rnd() * 200_000) },
    });
  });
  const expansionAccounts = new Set(accounts.filter(() => rnd() < 0.1));
  // One seat-limit event per expansion account, at a random place in the stream (one account per place).
  const expansionIndex = new Map<number, string>();
  for (const a of expansionAccounts) {
    let n = Math.floor(rnd() * o.productEvents);
    while (expansionIndex.has(n)) n = (n + 1) % o.productEvents;
    expansionIndex.set(n, a);
  }
  for (let n = 0; n < o.productEvents; n++) {
    // Roughly in time order, as a product sends them; a minute of jitter reorders neighbours.
    const at = Math.min(now - 1000, from + ((n + 1) / (o.productEvents + 1)) * (now - from) + (rnd() - 0.5) * 120_000);
    const expansionAccount = expansionIndex.get(n);
    const accountId = expansionAccount ?? pick(accounts);
    const event = expansionAccount ? EXPANSION_EVENT : pick(PRODUCT_EVENTS);
    message('track', accountId, n, at, {
      type: 'track', userId: `${accountId}-u${Math.floor(rnd() * 8)}`, event, properties: { n }, context: { groupId: accountId },
    }, event);
  }
  const sendOrder = [...messages];
  for (const m of messages) {
    if (rnd() >= o.duplicateRate) continue;
    // The same message again, later: a client retry that comes after the original was acknowledged.
    const at = Math.min(sendOrder.length, sendOrder.indexOf(m) + 1 + Math.floor(rnd() * 400));
    sendOrder.splice(at, 0, m);
  }

  const tickets = new Map<string, PlannedTicket[]>();
  const repeatAccounts = new Set<string>();
  const duplicateTickets = new Set<string>();
  accounts.forEach((accountId, i) => {
    const r = rnd();
    let categories: string[];
    if (r < 0.25) {
      categories = rnd() < 0.5 ? [REPEAT_CATEGORY, REPEAT_CATEGORY, REPEAT_CATEGORY] : [REPEAT_CATEGORY, REPEAT_CATEGORY, REPEAT_CATEGORY, REPEAT_CATEGORY];
      repeatAccounts.add(accountId);
    } else if (r < 0.5) {
      categories = [REPEAT_CATEGORY, 'login', REPEAT_CATEGORY];
    } else return;
    const list = categories.map((category, k) => {
      // Spread over the last 10 days, in creation order: all within the 14-day window.
      const created = new Date(now - (10 - 3 * k) * DAY_MS + Math.floor(rnd() * 3600_000)).toISOString();
      const ticketId = `${o.runId}-t${i}-${k}`;
      const body = { id: ticketId, accountId, category, status: 'open', channel: 'email', subject: `Question ${k + 1} about ${category}`, createdAt: created, updatedAt: created };
      if (rnd() < o.duplicateRate) duplicateTickets.add(ticketId);
      return { ticketId, eventId: ingestEventId(CHAOS_SOURCE_ID, `ticket:${ticketId}:${created}`), accountId, category, body };
    });
    tickets.set(accountId, list);
  });
  return { runId: o.runId, accounts, csms, ownerOf, messages, sendOrder, tickets, duplicateTickets, repeatAccounts, expansionAccounts };
}
