import { createHmac, timingSafeEqual } from 'node:crypto';
import { SupportChannel, type TicketPriority, type TicketStatus } from '@kizuna/shared/contracts';

/** What a support record says about who it is from, to find its account. */
export interface AccountHints {
  /** The account id itself, when the sender knows it. */
  accountId?: string;
  /** The help desk organization's external id (set to the account id by convention). */
  organizationExternalId?: string;
  /** The requester's or caller's e-mail. */
  email?: string;
}

export interface AccountDirectory {
  /** Account of a registered e-mail domain (from group traits `domain` / `website`). */
  byDomain: ReadonlyMap<string, string>;
  /** Account of a known contact's e-mail (from identify traits `email`). */
  byContact: ReadonlyMap<string, string>;
}

export type AccountMatch = { accountId: string; matchedBy: 'account-id' | 'organization' | 'email-domain' | 'contact-email' };

export const emailDomain = (email: string): string | undefined => {
  const at = email.lastIndexOf('@');
  return at > 0 ? email.slice(at + 1).trim().toLowerCase() : undefined;
};

/** Normalises a domain or a website URL to a bare lower-case host ("https://www.Acme.com/x" -> "acme.com"). */
export function normaliseDomain(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (!v) return undefined;
  const host = v.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '').replace(/:\d+$/, '').replace(/^www\./, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) ? host : undefined;
}

/** Account matching, in order: the account id, the organization's external id, the e-mail's domain, a known contact. */
export function matchAccount(hints: AccountHints, directory: AccountDirectory): AccountMatch | undefined {
  if (hints.accountId) return { accountId: hints.accountId, matchedBy: 'account-id' };
  if (hints.organizationExternalId) return { accountId: hints.organizationExternalId, matchedBy: 'organization' };
  const email = hints.email?.trim().toLowerCase();
  if (email) {
    const domain = emailDomain(email);
    const byDomain = domain ? directory.byDomain.get(domain) : undefined;
    if (byDomain) return { accountId: byDomain, matchedBy: 'email-domain' };
    const byContact = directory.byContact.get(email);
    if (byContact) return { accountId: byContact, matchedBy: 'contact-email' };
  }
  return undefined;
}

/** The domains an account's group traits register (`domain`, `domains`, `website`). */
export function domainsFromTraits(traits: Record<string, unknown>): string[] {
  const values = [traits['domain'], traits['website'], ...(Array.isArray(traits['domains']) ? traits['domains'] : [])];
  return [...new Set(values.flatMap((v) => (typeof v === 'string' ? [normaliseDomain(v)] : [])).filter((d): d is string => !!d))];
}

// ---------------------------------------------------------------------------------------------
// Zendesk event-subscription webhooks

export const ZENDESK_MAX_SKEW_MS = 5 * 60 * 1000;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Zendesk signs `timestamp + raw body` with HMAC-SHA256 and sends it base64 in
 * X-Zendesk-Webhook-Signature, the timestamp in X-Zendesk-Webhook-Signature-Timestamp.
 * Any of the given secrets may match (two are active during a rotation).
 */
export function verifyZendeskSignature(
  secrets: readonly string[],
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
  now: Date,
): SignatureCheck {
  if (!timestamp || !signature) return { ok: false, reason: 'missing X-Zendesk-Webhook-Signature or -Timestamp header' };
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return { ok: false, reason: 'X-Zendesk-Webhook-Signature-Timestamp is not a timestamp' };
  if (Math.abs(now.getTime() - t) > ZENDESK_MAX_SKEW_MS) return { ok: false, reason: 'signature timestamp is more than 5 minutes away from now' };
  const given = Buffer.from(signature, 'base64');
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(timestamp).update(rawBody).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { ok: true };
  }
  return { ok: false, reason: 'signature does not match' };
}

export function signZendesk(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(timestamp).update(rawBody).digest('base64');
}

const ZENDESK_STATUS: Record<string, TicketStatus> = {
  new: 'new', open: 'open', pending: 'pending', hold: 'hold', on_hold: 'hold', solved: 'solved', closed: 'closed',
};
const ZENDESK_PRIORITY: Record<string, TicketPriority> = { low: 'low', normal: 'normal', high: 'high', urgent: 'urgent' };
const CHANNELS: Record<string, SupportChannel> = {
  email: SupportChannel.Email, mail: SupportChannel.Email, web: SupportChannel.Web, web_form: SupportChannel.Web, chat: SupportChannel.Chat,
  native_messaging: SupportChannel.Chat, voice: SupportChannel.Phone, phone: SupportChannel.Phone, api: SupportChannel.Api,
  twitter: SupportChannel.Social, facebook: SupportChannel.Social, instagram: SupportChannel.Social, whatsapp: SupportChannel.Social,
};

export const channelOf = (value: string | undefined): SupportChannel => CHANNELS[(value ?? '').toLowerCase()] ?? SupportChannel.Other;

/** Tags or a custom field that mean "this needs Customer Success". */
export const NEEDS_CS_TAGS = ['needs_cs', 'needs-cs', 'escalate_cs', 'cs_escalation'];

export interface ZendeskWebhook {
  id: string;
  type: string;
  time?: string;
  detail: Record<string, unknown>;
}

export interface TicketDraft {
  ticketId: string;
  hints: AccountHints;
  requesterEmail?: string;
  channel: SupportChannel;
  category?: string;
  tags: string[];
  priority: TicketPriority;
  subject?: string;
  status: TicketStatus;
  reopenedCount: number;
  satisfaction?: number;
  needsCs: boolean;
  createdAt: string;
  updatedAt: string;
}

const s = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const obj = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Reads a Zendesk ticket event (`zen:event-type:ticket.*`) into a ticket draft; undefined for other event types. */
export function zendeskTicket(webhook: ZendeskWebhook, receivedAt: Date): TicketDraft | { error: string } | undefined {
  if (!webhook.type.startsWith('zen:event-type:ticket.')) return undefined;
  const d = webhook.detail;
  const ticketId = s(d['id']);
  if (!ticketId) return { error: 'detail.id: the ticket id is required' };
  const requester = obj(d['requester']);
  const organization = obj(d['organization']);
  const tags = Array.isArray(d['tags']) ? d['tags'].flatMap((t) => (typeof t === 'string' ? [t.toLowerCase()] : [])) : [];
  const email = s(requester['email']) ?? s(d['requester_email']);
  const hints: AccountHints = {};
  const orgExternal = s(organization['external_id']) ?? s(d['organization_external_id']);
  if (orgExternal) hints.organizationExternalId = orgExternal;
  if (email) hints.email = email;
  const when = s(d['updated_at']) ?? webhook.time ?? receivedAt.toISOString();
  const draft: TicketDraft = {
    ticketId: `zendesk:${ticketId}`,
    hints,
    channel: channelOf(s(obj(d['via'])['channel']) ?? s(d['channel'])),
    tags,
    priority: ZENDESK_PRIORITY[(s(d['priority']) ?? 'normal').toLowerCase()] ?? 'normal',
    status: ZENDESK_STATUS[(s(d['status']) ?? 'new').toLowerCase()] ?? 'open',
    reopenedCount: Number(d['reopens'] ?? 0) || 0,
    needsCs: tags.some((t) => NEEDS_CS_TAGS.includes(t)),
    createdAt: new Date(s(d['created_at']) ?? when).toISOString(),
    updatedAt: new Date(when).toISOString(),
  };
  if (email) draft.requesterEmail = email.toLowerCase();
  const subject = s(d['subject']);
  if (subject) draft.subject = subject.slice(0, 2000);
  const category = s(d['type']) ?? tags.find((t) => !NEEDS_CS_TAGS.includes(t));
  if (category) draft.category = category;
  const sat = Number(obj(d['satisfaction_rating'])['score']);
  if (Number.isInteger(sat) && sat >= 1 && sat <= 5) draft.satisfaction = sat;
  return draft;
}
