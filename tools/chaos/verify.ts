import type { Client } from 'pg';
import type { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { EscalationReason, Topics } from '@kizuna/shared/contracts';
import type { ServiceName } from '@kizuna/shared/testing';
import { EXPANSION_EVENT, CHAOS_SOURCE_ID, type EventPlan } from './event-plan';
import type { LedgerEntry } from './ingest-driver';

export interface Check {
  name: string;
  ok: boolean;
  /** What was compared, with figures. */
  detail: string;
}

/** Every id and how many times it is on each topic (only messages keyed by the run's accounts). */
export interface TopicScan {
  topic: string;
  messages: number;
  ids: Map<string, number>;
}

const CONSUMERS: ServiceName[] = ['health-scoring', 'lifecycle', 'escalation-routing', 'notification'];
const schemaOf = (s: ServiceName) => s.replace(/-/g, '_');

/** The event types each consumer applies through its inbox (filters before the inbox included). */
const HEALTH_ESCALATION_TYPES = new Set([
  'cs.escalation.opened.v1', 'cs.escalation.assigned.v1', 'cs.escalation.acknowledged.v1', 'cs.escalation.reassigned.v1',
  'cs.escalation.resolved.v1', 'cs.escalation.handed-back.v1', 'cs.escalation.sla-breached.v1',
]);
const ESCALATION_LIFECYCLE_TYPES = new Set(['cs.lifecycle.phase.changed.v1', 'cs.lifecycle.touch-model.changed.v1', 'cs.lifecycle.onboarding.stalled.v1']);

interface OutboxRow {
  event_id: string;
  type: string;
  account_id: string;
  dimension: string | null;
  unpublished: boolean;
}

const sample = (xs: Iterable<string>, n = 5) => [...xs].slice(0, n).join(', ');
const diff = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));

/** Reads topics from the start to their current end in a throw-away group; keeps the run's messages. */
export async function scanTopics(kafka: Kafka, topics: string[], accounts: Set<string>): Promise<TopicScan[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  try {
    for (const t of topics) {
      for (const p of await admin.fetchTopicOffsets(t)) if (Number(p.high) > Number(p.low)) ends.set(`${t}:${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const scans = new Map(topics.map((t) => [t, { topic: t, messages: 0, ids: new Map<string, number>() }]));
  if (ends.size === 0) return [...scans.values()];
  const consumer = kafka.consumer({ groupId: `kizuna-chaos-scan-${randomUUID()}`, maxWaitTimeInMs: 250, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const pending = new Set(ends.keys());
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const scan = scans.get(batch.topic);
        const end = ends.get(`${batch.topic}:${batch.partition}`) ?? 0;
        for (const m of batch.messages) {
          if (Number(m.offset) >= end) break;
          if (!m.key || !accounts.has(m.key.toString('utf8')) || !scan) continue;
          scan.messages++;
          const id = (JSON.parse(m.value?.toString('utf8') ?? '{}') as { id?: string }).id ?? '?';
          scan.ids.set(id, (scan.ids.get(id) ?? 0) + 1);
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last && Number(last.offset) + 1 >= end) pending.delete(`${batch.topic}:${batch.partition}`);
        if (pending.size === 0) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('scanning the topics took over 5 minutes')), 300_000)))]).finally(() =>
      clearTimeout(timer),
    );
  } finally {
    await consumer.disconnect();
  }
  return [...scans.values()];
}

/**
 * The harness's verdict: each acknowledged event reflected exactly once in each consuming
 * service's state, each fact emitted through an outbox applied once downstream, one escalation per
 * (account, reason), no dead letter.
 */
export async function verifyRun(
  db: Client,
  plan: EventPlan,
  ledger: Map<string, LedgerEntry>,
  groupPrefix: string,
  kafkaScan: TopicScan[],
): Promise<Check[]> {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const accounts = plan.accounts;
  const byId = new Map(plan.messages.map((m) => [m.eventId, m]));

  // 1. Ingestion acknowledged every planned event, and each is on its topic.
  const planned = new Set([...plan.messages.map((m) => m.eventId), ...[...plan.tickets.values()].flat().map((t) => t.eventId)]);
  const acked = new Set(ledger.keys());
  const notAcked = diff(planned, acked);
  check('ingestion acknowledged every event sent', notAcked.size === 0, `${acked.size} of ${planned.size} distinct events acknowledged with 200${notAcked.size ? `; never: ${sample(notAcked)}` : ''}`);
  const onKafka = new Set(kafkaScan.filter((s) => [Topics.product, Topics.directory, Topics.support].includes(s.topic as never)).flatMap((s) => [...s.ids.keys()]));
  const lost = diff(acked, onKafka);
  check('every acknowledged event is on Kafka', lost.size === 0, `${acked.size - lost.size} of ${acked.size} on cs.product/directory/support.v1${lost.size ? `; missing: ${sample(lost)}` : ''}`);

  const ofKind = (k: LedgerEntry['kind']) => new Set([...ledger.values()].filter((e) => e.kind === k).map((e) => e.eventId));
  const tracks = ofKind('track');
  const groups = ofKind('group');
  const tickets = ofKind('ticket');
  const expansionTracks = new Set([...tracks].filter((id) => byId.get(id)?.event === EXPANSION_EVENT));

  const outbox = async (schema: string): Promise<OutboxRow[]> =>
    (
      await db.query<OutboxRow>(
        `SELECT event_id, envelope->>'type' AS type, message_key AS account_id, envelope->'data'->>'dimension' AS dimension,
                published_at IS NULL AS unpublished FROM ${schema}.outbox`,
      )
    ).rows;
  const healthOut = await outbox('health_scoring');
  const lifecycleOut = await outbox('lifecycle');
  const escalationOut = await outbox('escalation_routing');
  const ids = (rows: OutboxRow[], keep: (r: OutboxRow) => boolean = () => true) => rows.filter(keep).map((r) => r.event_id);
  for (const [schema, rows] of [['health_scoring', healthOut], ['lifecycle', lifecycleOut], ['escalation_routing', escalationOut]] as const) {
    const left = rows.filter((r) => r.unpublished).length;
    check(`${schema} outbox drained`, left === 0, `${rows.length} rows, ${left} not yet published`);
  }

  // 2. Each consumer's inbox holds exactly the events it applies, among the event types the run
  //    models for it: no loss, nothing foreign. Types a service consumes beyond these are listed only.
  const TRACK = 'cs.product.track.v1';
  const ACCOUNT = 'cs.directory.account.updated.v1';
  const TICKET = 'cs.support.ticket.updated.v1';
  const HEALTH = 'cs.health.score.changed.v1';
  const SEGMENT = 'cs.lifecycle.segment.changed.v1';
  const modelled: Record<string, { types: Set<string>; events: Set<string> }> = {
    'health-scoring': {
      types: new Set([TRACK, ACCOUNT, TICKET, SEGMENT, ...HEALTH_ESCALATION_TYPES]),
      events: new Set([
        ...tracks, ...groups, ...tickets,
        ...ids(escalationOut, (r) => HEALTH_ESCALATION_TYPES.has(r.type)),
        ...ids(lifecycleOut, (r) => r.type === SEGMENT),
      ]),
    },
    lifecycle: { types: new Set([TRACK, ACCOUNT, HEALTH]), events: new Set([...tracks, ...groups, ...ids(healthOut)]) },
    'escalation-routing': {
      types: new Set([TRACK, ACCOUNT, TICKET, HEALTH, SEGMENT, ...ESCALATION_LIFECYCLE_TYPES]),
      events: new Set([
        ...groups, ...tickets, ...expansionTracks, ...ids(healthOut),
        ...ids(lifecycleOut, (r) => ESCALATION_LIFECYCLE_TYPES.has(r.type) || (r.type === SEGMENT && r.dimension === 'usage-status')),
      ]),
    },
    notification: { types: new Set([HEALTH]), events: new Set(ids(healthOut)) },
  };
  for (const svc of CONSUMERS) {
    const all = (await db.query<{ event_id: string; event_type: string }>(`SELECT event_id, event_type FROM ${schemaOf(svc)}.inbox WHERE consumer = $1`, [`${groupPrefix}.${svc}`])).rows;
    const model = modelled[svc] ?? { types: new Set<string>(), events: new Set<string>() };
    const rows = all.filter((r) => model.types.has(r.event_type));
    const got = new Set(rows.map((r) => r.event_id));
    const want = model.events;
    const missing = diff(want, got);
    const extra = rows.filter((r) => !want.has(r.event_id));
    const types = [...new Set(extra.map((r) => r.event_type))].join(', ');
    const others = all.length - rows.length;
    check(
      `${svc} applied each event once (inbox)`,
      missing.size === 0 && extra.length === 0,
      `${got.size} of ${want.size} expected events applied` +
        (missing.size ? `; missing ${missing.size}: ${sample(missing)}` : '') +
        (extra.length ? `; ${extra.length} not expected (${types})` : '') +
        (others ? `; ${others} more of types the run does not model` : ''),
    );
  }

  // 3. health-scoring: the additive effect (events per account and UTC day) counts each event once.
  const wantDays = new Map<string, number>();
  for (const id of tracks) {
    const m = byId.get(id);
    if (m) wantDays.set(`${m.accountId} ${m.day}`, (wantDays.get(`${m.accountId} ${m.day}`) ?? 0) + 1);
  }
  const dayRows = (
    await db.query<{ k: string; events: number }>(
      `SELECT account_id || ' ' || to_char(day, 'YYYY-MM-DD') AS k, events FROM health_scoring.account_daily_activity WHERE account_id = ANY($1)`,
      [accounts],
    )
  ).rows;
  const gotDays = new Map(dayRows.map((r) => [r.k, Number(r.events)]));
  const dayDiffs = [...new Set([...wantDays.keys(), ...gotDays.keys()])].filter((k) => wantDays.get(k) !== gotDays.get(k));
  const counted = [...gotDays.values()].reduce((a, b) => a + b, 0);
  check(
    'health-scoring counted each product event once (account_daily_activity)',
    dayDiffs.length === 0,
    `${counted} events counted for ${tracks.size} distinct acknowledged over ${wantDays.size} account-days` +
      (dayDiffs.length ? `; ${dayDiffs.length} account-days differ, e.g. ${dayDiffs.slice(0, 3).map((k) => `${k}: want ${wantDays.get(k) ?? 0}, got ${gotDays.get(k) ?? 0}`).join('; ')}` : ''),
  );

  // 4. lifecycle: the signal log holds each day's first and last activity, each account update,
  //    and one health signal per distinct health event (a re-published one changes nothing).
  const signals = (
    await db.query<{ account_id: string; key: string; at: Date }>(
      `SELECT account_id, key, at FROM lifecycle.lifecycle_signal WHERE account_id = ANY($1)`,
      [accounts],
    )
  ).rows;
  const sig = new Map(signals.map((s) => [`${s.account_id} ${s.key}`, s.at.toISOString()]));
  const span = new Map<string, { first: string; last: string }>();
  for (const id of tracks) {
    const m = byId.get(id);
    if (!m) continue;
    const k = `${m.accountId} ${m.day}`;
    const s = span.get(k);
    if (!s) span.set(k, { first: m.timestamp, last: m.timestamp });
    else {
      if (m.timestamp < s.first) s.first = m.timestamp;
      if (m.timestamp > s.last) s.last = m.timestamp;
    }
  }
  const wrong: string[] = [];
  for (const [k, s] of span) {
    const [account, day] = k.split(' ');
    if (sig.get(`${account} act:${day}:first`) !== s.first) wrong.push(`${account} act:${day}:first want ${s.first} got ${sig.get(`${account} act:${day}:first`)}`);
    if (sig.get(`${account} act:${day}:last`) !== s.last) wrong.push(`${account} act:${day}:last want ${s.last} got ${sig.get(`${account} act:${day}:last`)}`);
  }
  for (const id of groups) {
    const m = byId.get(id);
    if (m && !sig.has(`${m.accountId} dir:${CHAOS_SOURCE_ID}:${m.messageId}`)) wrong.push(`${m.accountId} dir:${CHAOS_SOURCE_ID}:${m.messageId} missing`);
  }
  const healthSignals = signals.filter((s) => s.key.startsWith('health:')).map((s) => s.key.slice('health:'.length));
  const healthIds = new Set(ids(healthOut));
  const strayHealth = healthSignals.filter((id) => !healthIds.has(id));
  const missingHealth = diff(healthIds, new Set(healthSignals));
  check(
    'lifecycle signal log reflects each event once',
    wrong.length === 0 && strayHealth.length === 0 && missingHealth.size === 0,
    `${span.size} account-days (first/last activity), ${groups.size} account updates, ${healthSignals.length} health signals for ${healthIds.size} health events` +
      (wrong.length ? `; ${wrong.length} wrong, e.g. ${wrong.slice(0, 3).join('; ')}` : '') +
      (strayHealth.length || missingHealth.size ? `; health signals: ${missingHealth.size} missing, ${strayHealth.length} unknown` : ''),
  );

  // 5. escalation-routing: each ticket once; exactly one escalation per (account, reason).
  const contacts = (await db.query<{ account_id: string; n: string }>(`SELECT account_id, count(*) AS n FROM escalation_routing.support_contact WHERE account_id = ANY($1) GROUP BY 1`, [accounts])).rows;
  const gotContacts = new Map(contacts.map((r) => [r.account_id, Number(r.n)]));
  const contactDiffs = [...plan.tickets].filter(([a, list]) => gotContacts.get(a) !== list.length);
  check(
    'escalation-routing recorded each ticket once',
    contactDiffs.length === 0 && [...gotContacts.keys()].every((a) => plan.tickets.has(a)),
    `${[...gotContacts.values()].reduce((a, b) => a + b, 0)} contacts for ${tickets.size} tickets` +
      (contactDiffs.length ? `; differ: ${contactDiffs.slice(0, 3).map(([a, l]) => `${a} want ${l.length} got ${gotContacts.get(a) ?? 0}`).join('; ')}` : ''),
  );
  const escalations = (await db.query<{ id: string; account_id: string; reason: string }>(`SELECT id, account_id, reason FROM escalation_routing.escalation WHERE account_id = ANY($1)`, [accounts])).rows;
  const perKey = new Map<string, number>();
  for (const e of escalations) perKey.set(`${e.account_id} ${e.reason}`, (perKey.get(`${e.account_id} ${e.reason}`) ?? 0) + 1);
  const twice = [...perKey].filter(([, n]) => n > 1);
  const withReason = (reason: string) => new Set(escalations.filter((e) => e.reason === reason).map((e) => e.account_id));
  const repeat = withReason(EscalationReason.RepeatInquiries);
  const expansion = withReason(EscalationReason.ExpansionSignal);
  const repeatMissing = diff(plan.repeatAccounts, repeat);
  const repeatExtra = diff(repeat, plan.repeatAccounts);
  const expansionMissing = diff(plan.expansionAccounts, expansion);
  const expansionExtra = diff(expansion, plan.expansionAccounts);
  const byReason = [...new Set(escalations.map((e) => e.reason))].map((r) => `${r} ${escalations.filter((e) => e.reason === r).length}`).join(', ');
  check(
    'exactly one escalation per (account, reason), each the plan calls for',
    twice.length === 0 && repeatMissing.size + repeatExtra.size + expansionMissing.size + expansionExtra.size === 0,
    `${escalations.length} escalations (${byReason || 'none'}); repeat-inquiries for ${repeat.size} of ${plan.repeatAccounts.size} accounts with 3+ same-category tickets, expansion for ${expansion.size} of ${plan.expansionAccounts.size}` +
      (twice.length ? `; more than one: ${twice.slice(0, 3).map(([k, n]) => `${k} x${n}`).join('; ')}` : '') +
      (repeatMissing.size || repeatExtra.size ? `; repeat-inquiries missing ${sample(repeatMissing)} unexpected ${sample(repeatExtra)}` : '') +
      (expansionMissing.size || expansionExtra.size ? `; expansion missing ${sample(expansionMissing)} unexpected ${sample(expansionExtra)}` : ''),
  );
  const facts = new Set((await db.query<{ escalation_id: string }>(`SELECT escalation_id FROM health_scoring.escalation_fact WHERE account_id = ANY($1)`, [accounts])).rows.map((r) => r.escalation_id));
  const escIds = new Set(escalations.map((e) => e.id));
  const factMissing = diff(escIds, facts);
  const factExtra = diff(facts, escIds);
  check('health-scoring knows each escalation once', factMissing.size + factExtra.size === 0, `${facts.size} escalation facts for ${escIds.size} escalations`);

  // 6. Nothing dead-lettered (the input is valid; a dead letter under crashes would be a loss).
  const dead = kafkaScan.filter((s) => s.topic.endsWith('.dlq')).reduce((n, s) => n + s.messages, 0);
  check('no dead letters', dead === 0, `${dead} messages on the dead-letter topics`);
  return checks;
}

/** Duplicate publications seen on each topic (the same event id more than once), absorbed by the inboxes. */
export function duplicatePublications(scan: TopicScan[]): Record<string, { messages: number; distinct: number }> {
  return Object.fromEntries(scan.filter((s) => !s.topic.endsWith('.dlq')).map((s) => [s.topic, { messages: s.messages, distinct: s.ids.size }]));
}
