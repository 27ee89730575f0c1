import { ingestEventId } from '@kizuna/ingestion/domain';
import { CHAOS_SOURCE_ID, EXPANSION_EVENT, REPEAT_CATEGORY, planEvents } from './event-plan';

const now = new Date('2026-12-01T12:00:00Z');
const plan = (seed = 7) => planEvents({ runId: 'r1', productEvents: 2000, accounts: 40, duplicateRate: 0.05, windowDays: 3, now, seed });

describe('the crash replay event plan', () => {
  it('is the same for the same seed, and another for another seed', () => {
    expect(plan().sendOrder.map((m) => m.messageId)).toEqual(plan().sendOrder.map((m) => m.messageId));
    expect(plan(8).sendOrder.map((m) => m.accountId)).not.toEqual(plan().sendOrder.map((m) => m.accountId));
  });

  it('sends every message once, some a second time after the first, all with the id ingestion derives', () => {
    const p = plan();
    expect(p.messages).toHaveLength(2000 + 40);
    expect(new Set(p.sendOrder.map((m) => m.messageId)).size).toBe(p.messages.length);
    const duplicates = p.sendOrder.length - p.messages.length;
    expect(duplicates).toBeGreaterThan(40);
    expect(duplicates).toBeLessThan(200);
    for (const m of p.messages) {
      expect(m.eventId).toBe(ingestEventId(CHAOS_SOURCE_ID, m.messageId));
      expect(m.body['messageId']).toBe(m.messageId);
      expect(new Date(m.timestamp).getTime()).toBeLessThan(now.getTime());
    }
    // Group calls first; a duplicate never comes before its original.
    expect(p.sendOrder.slice(0, 40).every((m) => m.kind === 'group')).toBe(true);
    const firstAt = new Map<string, number>();
    p.sendOrder.forEach((m, i) => firstAt.has(m.messageId) || firstAt.set(m.messageId, i));
    expect(p.sendOrder.every((m, i) => (firstAt.get(m.messageId) ?? -1) <= i)).toBe(true);
  });

  it('gives repeat accounts 3+ same-category tickets within 14 days, in creation order; others fewer', () => {
    const p = plan();
    expect(p.repeatAccounts.size).toBeGreaterThan(0);
    for (const [account, tickets] of p.tickets) {
      const created = tickets.map((t) => Date.parse(String(t.body['createdAt'])));
      expect([...created].sort((a, b) => a - b)).toEqual(created);
      expect((created[created.length - 1] ?? 0) - (created[0] ?? 0)).toBeLessThan(14 * 24 * 3600 * 1000);
      const same = tickets.filter((t) => t.category === REPEAT_CATEGORY).length;
      expect(same >= 3).toBe(p.repeatAccounts.has(account));
      for (const t of tickets) expect(t.eventId).toBe(ingestEventId(CHAOS_SOURCE_ID, `ticket:${t.ticketId}:${String(t.body['updatedAt'])}`));
    }
  });

  it('sends exactly one seat-limit event to each expansion account', () => {
    const p = plan();
    const seatLimits = p.messages.filter((m) => m.event === EXPANSION_EVENT);
    expect(new Set(seatLimits.map((m) => m.accountId))).toEqual(p.expansionAccounts);
    expect(seatLimits).toHaveLength(p.expansionAccounts.size);
  });
});
