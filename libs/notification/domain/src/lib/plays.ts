import type { TouchModel } from '@kizuna/shared/contracts';
import { escapeHtml, type EmailContent } from './templates';

/** What starts a tech-touch play. */
export const PLAY_TRIGGERS = ['onboarding.stalled', 'feature.not-adopted'] as const;
export type PlayTrigger = (typeof PLAY_TRIGGERS)[number];

/**
 * A tech-touch play: an automated e-mail to the account's admin contacts, configured as data.
 * Placeholders in the template: {{account}}, {{name}}, {{milestone}}, {{feature}}, {{link}}, {{unsubscribe}}.
 */
export interface Play {
  id: string;
  enabled: boolean;
  trigger: PlayTrigger;
  /** Who gets it: accounts with one of these touch models, and (when set) every listed segment value. */
  audience: { touchModels: TouchModel[]; segments?: Record<string, string[]> };
  /** onboarding.stalled: plays only for these milestones (empty: any). */
  milestones?: string[];
  /** feature.not-adopted: the product event name that means the feature is used, and after how many days unused. */
  feature?: string;
  afterDays?: number;
  /** A contact receives this play at most once in this many days. */
  frequencyCapDays: number;
  /** Link per milestone or feature ({{link}}), e.g. a guide or a tutorial. */
  links?: Record<string, string>;
  subject: string;
  text: string;
}

export const DEFAULT_PLAYS: Play[] = [
  {
    id: 'onboarding-stalled-guide',
    enabled: true,
    trigger: 'onboarding.stalled',
    audience: { touchModels: ['tech' as TouchModel] },
    frequencyCapDays: 7,
    links: {},
    subject: 'Next step for {{account}}: {{milestone}}',
    text: 'Hello {{name}},\n\nYour team at {{account}} is one step away: "{{milestone}}" is not done yet. This short guide walks you through it: {{link}}\n\nHappy to help,\nThe Customer Success team',
  },
  {
    id: 'feature-not-adopted-tutorial',
    enabled: false,
    trigger: 'feature.not-adopted',
    audience: { touchModels: ['tech' as TouchModel] },
    feature: 'Report Shared',
    afterDays: 14,
    frequencyCapDays: 30,
    links: {},
    subject: 'Get more from {{feature}}',
    text: 'Hello {{name}},\n\n{{account}} has not tried {{feature}} yet. A five-minute tutorial: {{link}}\n\nThe Customer Success team',
  },
];

export interface AudienceFacts {
  touchModel: string | null;
  segments: Record<string, string>;
}

/** Does the account belong to the play's audience? */
export function inAudience(play: Pick<Play, 'audience'>, account: AudienceFacts): boolean {
  if (!account.touchModel || !(play.audience.touchModels as string[]).includes(account.touchModel)) return false;
  return Object.entries(play.audience.segments ?? {}).every(([dim, values]) => values.length === 0 || values.includes(account.segments[dim] ?? ''));
}

/** May a contact last reached by this play at `lastSentAt` receive it again at `now`? */
export function underFrequencyCap(lastSentAt: Date | null, now: Date, capDays: number): boolean {
  return !lastSentAt || now.getTime() - lastSentAt.getTime() >= capDays * 86_400_000;
}

export interface PlayValues {
  account: string;
  name: string;
  milestone?: string;
  feature?: string;
  unsubscribe?: string;
}

const fill = (template: string, values: Record<string, string>, escape: (s: string) => string) =>
  template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => escape(values[key] ?? ''));

/** The play's e-mail for one contact (text as written, HTML escaped from the same template). */
export function renderPlayEmail(play: Play, v: PlayValues): EmailContent {
  const link = play.links?.[v.milestone ?? v.feature ?? ''] ?? play.links?.['default'] ?? '';
  const values: Record<string, string> = {
    account: v.account, name: v.name, milestone: v.milestone ?? '', feature: v.feature ?? play.feature ?? '', link, unsubscribe: v.unsubscribe ?? '',
  };
  const footer = v.unsubscribe ? `\n\n--\nTo stop these e-mails: ${v.unsubscribe}\n` : '\n';
  const text = fill(play.text, values, (s) => s) + footer;
  const htmlBody = fill(play.text, values, escapeHtml).split('\n').join('<br>');
  const htmlFooter = v.unsubscribe ? `<hr><p style="color:#777;font-size:12px"><a href="${escapeHtml(v.unsubscribe)}">Unsubscribe</a></p>` : '';
  return {
    subject: fill(play.subject, values, (s) => s),
    text,
    html: `<!doctype html><html><head><meta charset="utf-8"></head><body style="font-family:sans-serif;font-size:14px">${htmlBody}${htmlFooter}</body></html>`,
  };
}
