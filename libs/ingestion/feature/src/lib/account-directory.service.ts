import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventType } from '@kizuna/shared/contracts';
import type { AnyNewEvent } from '@kizuna/shared/messaging';
import { queryRows } from '@kizuna/shared/persistence';
import { AccountDomain, Contact, UnmatchedRecord } from '@kizuna/ingestion/data-access';
import {
  domainsFromTraits, emailDomain, ingestEventId, type AccountDirectory, type AccountHints, type SegmentMessage,
} from '@kizuna/ingestion/domain';

/** A contract event waiting for its account: the payload lacks only `accountId`. */
export interface UnmatchedDraft {
  type: EventType;
  data: Record<string, unknown>;
}

export interface UnmatchedView {
  sourceId: string;
  kind: string;
  externalId: string;
  email: string | null;
  domain: string | null;
  receivedAt: string;
}

/**
 * Who is who across sources: e-mail domains registered by accounts' group traits and contacts'
 * e-mails from identify traits. Support records that match no account are kept here and
 * released (published) as soon as a mapping for them appears.
 */
@Injectable()
export class AccountDirectoryService {
  constructor(private readonly ds: DataSource) {}

  /** The mappings relevant to these hints. */
  async lookup(m: EntityManager, hints: AccountHints[]): Promise<AccountDirectory> {
    const emails = [...new Set(hints.flatMap((h) => (h.email ? [h.email.toLowerCase()] : [])))];
    const domains = [...new Set(emails.flatMap((e) => emailDomain(e) ?? []))];
    const byContact = new Map<string, string>();
    const byDomain = new Map<string, string>();
    if (emails.length) {
      const rows: { email: string; account_id: string }[] = await m.query(
        `SELECT email, account_id FROM ${m.connection.getMetadata(Contact).tablePath} WHERE email = ANY($1::text[])`,
        [emails],
      );
      for (const r of rows) byContact.set(r.email, r.account_id);
      const drows: { domain: string; account_id: string }[] = await m.query(
        `SELECT domain, account_id FROM ${m.connection.getMetadata(AccountDomain).tablePath} WHERE domain = ANY($1::text[])`,
        [domains],
      );
      for (const r of drows) byDomain.set(r.domain, r.account_id);
    }
    return { byContact, byDomain };
  }

  /** Learns contacts (identify traits `email`) and domains (group traits) from attributed Segment calls. */
  async learnFromSegment(m: EntityManager, resolved: { message: SegmentMessage; accountId: string }[], at: Date): Promise<AnyNewEvent[]> {
    const contacts = new Map<string, { accountId: string; userId: string | null }>();
    const domains = new Map<string, string>();
    for (const { message, accountId } of resolved) {
      const traits = message.traits ?? {};
      if (message.type === 'identify' && typeof traits['email'] === 'string' && traits['email'].includes('@')) {
        contacts.set(traits['email'].trim().toLowerCase(), { accountId, userId: message.userId ?? null });
      }
      if (message.type === 'group') for (const d of domainsFromTraits(traits)) domains.set(d, accountId);
    }
    return this.register(m, contacts, domains, at);
  }

  /** Stores mappings and returns the events of the unmatched records they now match. */
  async register(
    m: EntityManager,
    contacts: Map<string, { accountId: string; userId: string | null }>,
    domains: Map<string, string>,
    at: Date,
  ): Promise<AnyNewEvent[]> {
    if (contacts.size === 0 && domains.size === 0) return [];
    if (contacts.size) {
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(Contact).tablePath} (email, account_id, user_id, updated_at)
         SELECT e, a, u, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(e, a, u)
         ON CONFLICT (email) DO UPDATE SET account_id = EXCLUDED.account_id, user_id = EXCLUDED.user_id, updated_at = EXCLUDED.updated_at`,
        [[...contacts.keys()], [...contacts.values()].map((c) => c.accountId), [...contacts.values()].map((c) => c.userId), at],
      );
    }
    if (domains.size) {
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(AccountDomain).tablePath} (domain, account_id, updated_at)
         SELECT d, a, $3 FROM unnest($1::text[], $2::text[]) AS t(d, a)
         ON CONFLICT (domain) DO UPDATE SET account_id = EXCLUDED.account_id, updated_at = EXCLUDED.updated_at`,
        [[...domains.keys()], [...domains.values()], at],
      );
    }
    const rows = await queryRows<{ source_id: string; message_id: string; email: string | null; domain: string | null; draft: UnmatchedDraft }>(
      m,
      `DELETE FROM ${m.connection.getMetadata(UnmatchedRecord).tablePath}
        WHERE email = ANY($1::text[]) OR domain = ANY($2::text[])
        RETURNING source_id, message_id, email, domain, draft`,
      [[...contacts.keys()], [...domains.keys()]],
    );
    return rows.flatMap((r) => {
      const accountId = (r.domain && domains.get(r.domain)) || (r.email && contacts.get(r.email)?.accountId);
      return accountId ? [this.matchedEvent(r.source_id, r.message_id, r.draft, accountId)] : [];
    });
  }

  matchedEvent(sourceId: string, messageId: string, draft: UnmatchedDraft, accountId: string): AnyNewEvent {
    return { type: draft.type, subject: accountId, id: ingestEventId(sourceId, messageId), data: { ...draft.data, accountId } } as AnyNewEvent;
  }

  async keepUnmatched(
    m: EntityManager,
    r: { sourceId: string; kind: string; externalId: string; messageId: string; email?: string | undefined; draft: UnmatchedDraft; at: Date },
  ): Promise<void> {
    const email = r.email?.toLowerCase() ?? null;
    await m.query(
      `INSERT INTO ${m.connection.getMetadata(UnmatchedRecord).tablePath}
         (source_id, kind, external_id, message_id, email, domain, draft, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [r.sourceId, r.kind, r.externalId, r.messageId, email, email ? (emailDomain(email) ?? null) : null, r.draft, r.at],
    );
  }

  async listUnmatched(limit: number, offset: number): Promise<{ total: number; items: UnmatchedView[] }> {
    const table = this.ds.getMetadata(UnmatchedRecord).tablePath;
    const [count] = await this.ds.query(`SELECT count(*)::int AS n FROM ${table}`);
    const rows: { source_id: string; kind: string; external_id: string; email: string | null; domain: string | null; received_at: Date }[] =
      await this.ds.query(
        `SELECT source_id, kind, external_id, email, domain, received_at FROM ${table} ORDER BY seq LIMIT $1 OFFSET $2`,
        [limit, offset],
      );
    return {
      total: (count as { n: number }).n,
      items: rows.map((r) => ({
        sourceId: r.source_id, kind: r.kind, externalId: r.external_id, email: r.email, domain: r.domain, receivedAt: r.received_at.toISOString(),
      })),
    };
  }
}
