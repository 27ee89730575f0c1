import { HealthBand, NotificationChannel, type CloudEvent, type EventType } from '@kizuna/shared/contracts';

/** What can cause a notification to a CSM. */
export const TRIGGERS = [
  'escalation.assigned',
  'escalation.sla-breached',
  'escalation.reassigned',
  'health.danger',
  'health.large-drop',
  'lifecycle.renewal-window',
  'lifecycle.onboarding-stalled',
  'lifecycle.touch-model-changed',
] as const;
export type TriggerKind = (typeof TRIGGERS)[number];
export const isTrigger = (v: string): v is TriggerKind => (TRIGGERS as readonly string[]).includes(v);

/** Who, relative to the event, receives it. */
export const RECIPIENT_ROLES = ['assignee', 'previous-assignee', 'team-lead', 'owner'] as const;
export type RecipientRole = (typeof RECIPIENT_ROLES)[number];

export const PRIORITIES = ['low', 'normal', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const CHANNELS = Object.values(NotificationChannel) as NotificationChannel[];

/** One trigger's configuration (data, editable through the API). */
export interface TriggerRule {
  trigger: TriggerKind;
  enabled: boolean;
  recipients: RecipientRole[];
  /** Channels used when the recipient has no preference for this trigger. */
  channels: NotificationChannel[];
  /** Low-priority triggers go to the daily digest of recipients who asked for one. */
  priority: Priority;
  /** health.large-drop: the drop in points (previous score - score) that fires it. */
  threshold?: number;
}

const { Email, Slack, InApp } = NotificationChannel;

/** The rules a fresh installation starts with. */
export const DEFAULT_TRIGGER_RULES: TriggerRule[] = [
  { trigger: 'escalation.assigned', enabled: true, recipients: ['assignee'], channels: [Email, Slack, InApp], priority: 'high' },
  { trigger: 'escalation.sla-breached', enabled: true, recipients: ['assignee', 'team-lead'], channels: [Email, Slack, InApp], priority: 'high' },
  { trigger: 'escalation.reassigned', enabled: true, recipients: ['assignee', 'previous-assignee'], channels: [Email, InApp], priority: 'normal' },
  { trigger: 'health.danger', enabled: true, recipients: ['owner'], channels: [Email, InApp], priority: 'high' },
  { trigger: 'health.large-drop', enabled: true, recipients: ['owner'], channels: [InApp], priority: 'normal', threshold: 15 },
  { trigger: 'lifecycle.renewal-window', enabled: true, recipients: ['owner'], channels: [Email, InApp], priority: 'low' },
  { trigger: 'lifecycle.onboarding-stalled', enabled: true, recipients: ['owner'], channels: [Email, InApp], priority: 'normal' },
  { trigger: 'lifecycle.touch-model-changed', enabled: true, recipients: ['owner'], channels: [InApp], priority: 'low' },
];

/** Rules by trigger, with the defaults filling in triggers the stored rules do not mention. */
export function ruleSet(rules: readonly TriggerRule[]): Map<TriggerKind, TriggerRule> {
  const map = new Map<TriggerKind, TriggerRule>(DEFAULT_TRIGGER_RULES.map((r) => [r.trigger, r]));
  for (const r of rules) map.set(r.trigger, r);
  return map;
}

/** A CSM named by an event or by the account directory. */
export interface Person {
  /** CSM id; for an owner known only by e-mail, the e-mail. */
  id: string;
  name?: string;
  email: string;
}

/** What the service knows about the account besides the event (its own directory projection). */
export interface AccountFacts {
  name?: string | null;
  owner?: Person | null;
}

/** A fact shown with the notification: label and value. */
export type Fact = [label: string, value: string];

/** What happened, worded for a person, with who should hear about it. */
export interface Notice {
  trigger: TriggerKind;
  priority: Priority;
  accountId: string;
  accountName: string;
  triggerEventId: string;
  title: string;
  summary: string;
  facts: Fact[];
  /** Evidence lines (escalations). */
  evidence: string[];
  recipients: { role: RecipientRole; person: Person }[];
  channels: NotificationChannel[];
}

const ESCALATION_TRIGGERS: Partial<Record<EventType, TriggerKind>> = {
  'cs.escalation.assigned.v1': 'escalation.assigned',
  'cs.escalation.sla-breached.v1': 'escalation.sla-breached',
  'cs.escalation.reassigned.v1': 'escalation.reassigned',
};

/** The event types that can fire a trigger (besides the plays). */
export const TRIGGER_EVENT_TYPES = [
  'cs.escalation.assigned.v1',
  'cs.escalation.sla-breached.v1',
  'cs.escalation.reassigned.v1',
  'cs.health.score.changed.v1',
  'cs.lifecycle.renewal-window.opened.v1',
  'cs.lifecycle.onboarding.stalled.v1',
  'cs.lifecycle.touch-model.changed.v1',
] as const satisfies readonly EventType[];

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? 'unknown' : n.toFixed(digits));
const day = (iso: string) => iso.slice(0, 10);

/**
 * The notices an event causes under the rules: pure, so the mapping is unit-tested without I/O.
 * Recipients named twice (the assignee is also the team lead) receive one notice.
 */
export function noticesFor(event: CloudEvent, rules: ReadonlyMap<TriggerKind, TriggerRule>, account: AccountFacts = {}): Notice[] {
  const out: Notice[] = [];
  const base = (trigger: TriggerKind, accountName: string, people: Partial<Record<RecipientRole, Person | undefined>>) => {
    const rule = rules.get(trigger);
    if (!rule?.enabled) return undefined;
    const seen = new Set<string>();
    const recipients: Notice['recipients'] = [];
    for (const role of rule.recipients) {
      const person = people[role];
      if (!person || seen.has(person.id)) continue;
      seen.add(person.id);
      recipients.push({ role, person });
    }
    return { rule, accountName, recipients };
  };
  const accountName = (fromEvent?: string) => fromEvent ?? account.name ?? event.subject;
  const owner = account.owner ?? undefined;

  const escalation = ESCALATION_TRIGGERS[event.type as EventType];
  if (escalation) {
    const d = (event as CloudEvent<'cs.escalation.assigned.v1'>).data;
    const assignee = d.assignee ? { id: d.assignee.csmId, name: d.assignee.name, email: d.assignee.email } : undefined;
    const person = (p?: { csmId: string; name: string; email: string }) => (p ? { id: p.csmId, name: p.name, email: p.email } : undefined);
    const b = base(escalation, accountName(d.context.accountName), {
      assignee, 'previous-assignee': person(d.previousAssignee), 'team-lead': person(d.teamLead), owner,
    });
    if (!b) return out;
    const c = d.context;
    const facts: Fact[] = [
      ['Account', b.accountName],
      ['Reason', d.reason],
      ['Priority', d.priority],
      ...(c.band ? [['Health', `${c.band} (${fmt(c.healthScore)})`] as Fact] : []),
      ...(c.phase ? [['Phase', c.phase] as Fact] : []),
      ...(c.touchModel ? [['Touch model', c.touchModel] as Fact] : []),
      ...(c.arr !== undefined ? [['ARR', String(c.arr)] as Fact] : []),
      ...(c.region ? [['Region', c.region] as Fact] : []),
      ...(d.team ? [['Team', d.team] as Fact] : []),
      ...(d.assignee ? [['Assignee', `${d.assignee.name} (${d.assignee.why})`] as Fact] : []),
      ...(d.previousAssignee ? [['Previous assignee', d.previousAssignee.name] as Fact] : []),
      ...(d.ackDueAt ? [['Acknowledge by', d.ackDueAt] as Fact] : []),
      ...(c.topMovers?.length ? [['Health movers', c.topMovers.join(', ')] as Fact] : []),
      ...(d.note ? [['Note', d.note] as Fact] : []),
    ];
    const titles: Record<string, string> = {
      'escalation.assigned': `Escalation assigned: ${b.accountName}`,
      'escalation.sla-breached': `SLA breached: escalation for ${b.accountName} not acknowledged`,
      'escalation.reassigned': `Escalation reassigned: ${b.accountName}`,
    };
    const summaries: Record<string, string> = {
      'escalation.assigned': `${d.assignee?.name ?? 'You'} now own the ${d.priority}-priority escalation (${d.reason}) for ${b.accountName}.`,
      'escalation.sla-breached': `The ${d.priority}-priority escalation (${d.reason}) for ${b.accountName} was due for acknowledgement${d.ackDueAt ? ` at ${d.ackDueAt}` : ''}.`,
      'escalation.reassigned': `The escalation (${d.reason}) for ${b.accountName} moved from ${d.previousAssignee?.name ?? 'unassigned'} to ${d.assignee?.name ?? 'unassigned'}.`,
    };
    out.push({
      trigger: escalation, priority: b.rule.priority, accountId: event.subject, accountName: b.accountName, triggerEventId: event.id,
      title: titles[escalation] ?? escalation, summary: summaries[escalation] ?? '', facts,
      evidence: d.evidence.map((e) => `${e.kind} ${e.ref}: ${e.summary}`),
      recipients: b.recipients, channels: b.rule.channels,
    });
    return out;
  }

  const notice = (trigger: TriggerKind, title: string, summary: string, facts: Fact[]) => {
    const b = base(trigger, accountName(), { owner });
    if (b) {
      out.push({
        trigger, priority: b.rule.priority, accountId: event.subject, accountName: b.accountName, triggerEventId: event.id,
        title, summary, facts: [['Account', b.accountName], ...facts], evidence: [], recipients: b.recipients, channels: b.rule.channels,
      });
    }
  };

  switch (event.type) {
    case 'cs.health.score.changed.v1': {
      const d = (event as CloudEvent<'cs.health.score.changed.v1'>).data;
      const movers = d.topMovers.map((m) => `${m.component}.${m.measure} ${m.deltaPoints > 0 ? '+' : ''}${m.deltaPoints.toFixed(1)}`).join(', ');
      const facts: Fact[] = [
        ['Score', `${fmt(d.previousScore, 1)} -> ${fmt(d.score, 1)}`],
        ['Band', `${d.previousBand ?? 'none'} -> ${d.band}`],
        ...(movers ? [['Top movers', movers] as Fact] : []),
      ];
      const name = accountName();
      if (d.band === HealthBand.Danger && d.previousBand !== HealthBand.Danger) {
        notice('health.danger', `${name} dropped to the danger band`, `Health of ${name} is ${fmt(d.score, 1)} (danger)${d.previousBand ? `, was ${d.previousBand}` : ''}.`, facts);
      }
      const drop = rules.get('health.large-drop')?.threshold ?? 15;
      if (d.previousScore !== null && d.previousScore !== undefined && d.previousScore - d.score >= drop) {
        notice('health.large-drop', `${name}: health fell ${(d.previousScore - d.score).toFixed(1)} points`, `Health of ${name} fell from ${fmt(d.previousScore, 1)} to ${fmt(d.score, 1)}.`, facts);
      }
      break;
    }
    case 'cs.lifecycle.renewal-window.opened.v1': {
      const d = (event as CloudEvent<'cs.lifecycle.renewal-window.opened.v1'>).data;
      const name = accountName();
      notice('lifecycle.renewal-window', `Renewal window opened: ${name}`, `${name} renews on ${day(d.renewalDate)} (${d.daysBefore} days from the window's start).`, [
        ['Renewal date', day(d.renewalDate)],
      ]);
      break;
    }
    case 'cs.lifecycle.onboarding.stalled.v1': {
      const d = (event as CloudEvent<'cs.lifecycle.onboarding.stalled.v1'>).data;
      const name = accountName();
      notice('lifecycle.onboarding-stalled', `Onboarding stalled: ${name}`, `${name} has not reached "${d.milestone}" (due ${day(d.dueAt)}).`, [
        ['Milestone', d.milestone],
        ['Due', day(d.dueAt)],
        ['Completed', d.completed.join(', ') || 'none'],
        ['Missing', d.missing.join(', ') || 'none'],
      ]);
      break;
    }
    case 'cs.lifecycle.touch-model.changed.v1': {
      const d = (event as CloudEvent<'cs.lifecycle.touch-model.changed.v1'>).data;
      const name = accountName();
      notice('lifecycle.touch-model-changed', `Touch model changed: ${name}`, `${name} moved from ${d.from ?? 'none'} to ${d.to} touch (${d.cause}).`, [
        ['From', d.from ?? 'none'],
        ['To', d.to],
        ['Cause', d.cause],
      ]);
      break;
    }
    default:
      break;
  }
  return out;
}

/**
 * The channels a recipient gets a notice on: their preference for the trigger if they set one,
 * else the rule's.
 */
export function channelsFor(notice: Pick<Notice, 'trigger' | 'channels'>, preferences?: Partial<Record<string, NotificationChannel[]>>): NotificationChannel[] {
  return [...new Set(preferences?.[notice.trigger] ?? notice.channels)];
}
