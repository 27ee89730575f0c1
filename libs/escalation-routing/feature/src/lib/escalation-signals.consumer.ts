import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { OnEvent, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce, projectHealth } from '@kizuna/shared/persistence';
import { SupportContact } from '@kizuna/escalation-routing/data-access';

/**
 * Records what escalation rules will evaluate: each account's health and its support contacts
 * (tickets and calls, newest version wins). The rules and routing arrive with the escalation issue.
 */
@Injectable()
export class EscalationSignalsConsumer {
  constructor(private readonly dataSource: DataSource) {}

  @OnEvent('cs.health.score.changed.v1')
  async onHealth(event: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    await processOnce(this.dataSource, ctx.group, event, (m) => projectHealth(m, event));
  }

  @OnEvent('cs.support.ticket.updated.v1')
  async onTicket(event: CloudEvent<'cs.support.ticket.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = event.data;
    await processOnce(this.dataSource, ctx.group, event, (m) =>
      this.upsertContact(m.connection.getMetadata(SupportContact).tablePath, m, {
        kind: 'ticket', ref: t.ticketId, accountId: event.subject, category: t.category ?? t.tags[0] ?? null,
        needsCs: t.needsCs, occurredAt: t.createdAt, updatedAt: t.updatedAt,
      }),
    );
  }

  @OnEvent('cs.support.call.recorded.v1')
  async onCall(event: CloudEvent<'cs.support.call.recorded.v1'>, ctx: MessageContext): Promise<void> {
    const c = event.data;
    await processOnce(this.dataSource, ctx.group, event, (m) =>
      this.upsertContact(m.connection.getMetadata(SupportContact).tablePath, m, {
        kind: 'call', ref: c.contactId, accountId: event.subject, category: c.reasonCode ?? null,
        needsCs: c.needsCs, occurredAt: c.startedAt, updatedAt: c.lastUpdatedAt,
      }),
    );
  }

  private async upsertContact(
    table: string,
    m: { query: (sql: string, params: unknown[]) => Promise<unknown> },
    c: { kind: string; ref: string; accountId: string; category: string | null; needsCs: boolean; occurredAt: string; updatedAt: string },
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${table} (kind, ref, account_id, category, needs_cs, occurred_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (kind, ref) DO UPDATE SET
         account_id = EXCLUDED.account_id, category = EXCLUDED.category, needs_cs = EXCLUDED.needs_cs,
         occurred_at = EXCLUDED.occurred_at, updated_at = EXCLUDED.updated_at
       WHERE support_contact.updated_at <= EXCLUDED.updated_at`,
      [c.kind, c.ref, c.accountId, c.category, c.needsCs, c.occurredAt, c.updatedAt],
    );
  }
}
