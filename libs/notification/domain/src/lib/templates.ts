import type { Notice } from './triggers';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** The part of a notice every channel renders (stored with the notification). */
export type NoticeContent = Pick<Notice, 'trigger' | 'priority' | 'accountId' | 'accountName' | 'triggerEventId' | 'title' | 'summary' | 'facts' | 'evidence'>;

/** Whether the notice was planned before the account's name was known (it shows the account id instead). */
export const lacksAccountName = (n: NoticeContent): boolean => n.accountId !== '' && n.accountName === n.accountId;

/**
 * The notice naming the account, for one planned while the name was unknown (the trigger event
 * carried none and the directory projection had none yet): the id is replaced where it stood for
 * the name (title, summary, the Account fact). Any other notice is returned unchanged.
 */
export function withAccountName<T extends NoticeContent>(n: T, name: string | null | undefined): T {
  if (!name || !lacksAccountName(n)) return n;
  const swap = (s: string) => s.split(n.accountId).join(name);
  return {
    ...n,
    accountName: name,
    title: swap(n.title),
    summary: swap(n.summary),
    facts: n.facts.map(([k, v]) => [k, k === 'Account' && v === n.accountId ? name : v] as [string, string]),
  };
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Slack mrkdwn escaping (the three characters Slack asks to escape). */
const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const textBlock = (n: NoticeContent) =>
  [
    n.summary,
    '',
    ...n.facts.map(([k, v]) => `${k}: ${v}`),
    ...(n.evidence.length ? ['', 'Evidence:', ...n.evidence.map((e) => `- ${e}`)] : []),
  ].join('\n');

const htmlBlock = (n: NoticeContent) =>
  `<h2 style="margin:0 0 8px">${escapeHtml(n.title)}</h2><p>${escapeHtml(n.summary)}</p>` +
  `<table cellpadding="4" style="border-collapse:collapse">${n.facts
    .map(([k, v]) => `<tr><th align="left" style="color:#555">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('')}</table>` +
  (n.evidence.length ? `<h3>Evidence</h3><ul>${n.evidence.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>` : '');

const page = (title: string, inner: string, footer: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
  `<body style="font-family:sans-serif;font-size:14px;color:#222">${inner}<hr><p style="color:#777;font-size:12px">${escapeHtml(footer)}</p></body></html>`;

const FOOTER = 'Sent by Kizuna. Change what you receive and when in your notification preferences.';

export function renderEmail(n: NoticeContent, recipientName?: string): EmailContent {
  const greeting = recipientName ? `Hello ${recipientName},\n\n` : '';
  return {
    subject: `[Kizuna] ${n.title}`,
    text: `${greeting}${textBlock(n)}\n\n--\n${FOOTER}\n`,
    html: page(n.title, `${recipientName ? `<p>Hello ${escapeHtml(recipientName)},</p>` : ''}${htmlBlock(n)}`, FOOTER),
  };
}

export function renderDigestEmail(items: NoticeContent[], recipientName?: string): EmailContent {
  const title = `Your Kizuna digest: ${items.length} notification${items.length === 1 ? '' : 's'}`;
  return {
    subject: `[Kizuna] ${title}`,
    text: `${recipientName ? `Hello ${recipientName},\n\n` : ''}${items.map((n) => `## ${n.title}\n${textBlock(n)}`).join('\n\n')}\n\n--\n${FOOTER}\n`,
    html: page(title, `<h1>${escapeHtml(title)}</h1>${items.map(htmlBlock).join('<hr>')}`, FOOTER),
  };
}

const slackSection = (n: NoticeContent): Record<string, unknown>[] => [
  { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
  { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(n.summary) } },
  ...(n.facts.length
    ? [{ type: 'section', fields: n.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${escapeSlack(k)}*\n${escapeSlack(v)}` })) }]
    : []),
  ...(n.evidence.length
    ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(n.evidence.slice(0, 5).join('\n')).slice(0, 3000) }] }]
    : []),
];

/** A Slack incoming-webhook message (Block Kit), with `text` as the notification fallback. */
export function renderSlack(n: NoticeContent): SlackMessage {
  return { text: n.title, blocks: slackSection(n) };
}

export function renderDigestSlack(items: NoticeContent[]): SlackMessage {
  const text = `Kizuna digest: ${items.length} notification${items.length === 1 ? '' : 's'}`;
  return { text, blocks: [{ type: 'header', text: { type: 'plain_text', text } }, ...items.flatMap((n) => [{ type: 'divider' }, ...slackSection(n)])].slice(0, 50) };
}

/** The JSON body of an outbound webhook (Standard Webhooks payload shape: type, timestamp, data). */
export function renderWebhook(items: NoticeContent[], deliveryId: string, at: Date, recipient: string): Record<string, unknown> {
  const one = items.length === 1 ? items[0] : undefined;
  return {
    type: one ? `kizuna.notification.${one.trigger}` : 'kizuna.notification.digest',
    timestamp: at.toISOString(),
    data: {
      deliveryId,
      recipient,
      notifications: items.map((n) => ({
        trigger: n.trigger, priority: n.priority, accountId: n.accountId, accountName: n.accountName, triggerEventId: n.triggerEventId,
        title: n.title, summary: n.summary, facts: Object.fromEntries(n.facts), evidence: n.evidence,
      })),
    },
  };
}
