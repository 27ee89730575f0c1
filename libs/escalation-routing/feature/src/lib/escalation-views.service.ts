import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AccountHealthProjection } from '@kizuna/shared/persistence';
import {
  AccountContextRow, CsmRow, EscalationAuditRow, EscalationEvidenceRow, EscalationRow, SupportContact, TeamRow,
} from '@kizuna/escalation-routing/data-access';
import { OPEN_STATES } from '@kizuna/escalation-routing/domain';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

export interface EscalationSummary {
  id: string;
  accountId: string;
  accountName: string | null;
  reason: string;
  rule: string;
  state: string;
  priority: string;
  assignee: { csmId: string; name: string; email: string } | null;
  teamId: string | null;
  routingWhy: string | null;
  openedWhy: string;
  openedBy: string;
  openedAt: string;
  assignedAt: string | null;
  ackDueAt: string | null;
  acknowledgedAt: string | null;
  closedAt: string | null;
  resolution: string | null;
  handBackNote: string | null;
  slaBreachedAt: string | null;
  breachCount: number;
  evidenceCount: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Read models of escalations: the paged list and the context bundle. */
@Injectable()
export class EscalationViews {
  constructor(private readonly ds: DataSource) {}

  /** `visible` adds the caller's scope (a condition on alias `e` whose parameters start at the given number). */
  async list(
    q: { status?: string; assignee?: string; accountId?: string; reason?: string },
    limit: number,
    offset: number,
    visible?: (first: number) => { sql: string; params: unknown[] } | undefined,
  ) {
    const m = this.ds.manager;
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.status === 'active') where.push(`e.state IN (${OPEN_STATES.map((s) => `'${s}'`).join(', ')})`);
    else if (q.status) add('e.state = ?', q.status);
    if (q.assignee) add('e.assignee_csm_id = ?', q.assignee);
    if (q.accountId) add('e.account_id = ?', q.accountId);
    if (q.reason) add('e.reason = ?', q.reason);
    const scope = visible?.(params.length + 1);
    if (scope) {
      where.push(scope.sql);
      params.push(...scope.params);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM ${tableOf(m, EscalationRow)} e ${w}`, params);
    const ids: { id: string }[] = await m.query(
      `SELECT e.id FROM ${tableOf(m, EscalationRow)} e ${w} ORDER BY e.opened_at DESC, e.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    );
    return { total: n as number, limit, offset, items: await this.summaries(m, ids.map((r) => r.id)) };
  }

  private async summaries(m: EntityManager, ids: string[]): Promise<EscalationSummary[]> {
    if (!ids.length) return [];
    const rows = await m.getRepository(EscalationRow).createQueryBuilder('e').where('e.id IN (:...ids)', { ids }).getMany();
    if (!rows.length) return [];
    const csmIds = [...new Set(rows.map((r) => r.assigneeCsmId).filter((x): x is string => !!x))];
    const csms = csmIds.length ? await m.getRepository(CsmRow).createQueryBuilder('c').where('c.id IN (:...csmIds)', { csmIds }).getMany() : [];
    const accounts = await m.getRepository(AccountContextRow).createQueryBuilder('a').where('a.account_id IN (:...accs)', { accs: [...new Set(rows.map((r) => r.accountId))] }).getMany();
    const counts: { id: string; n: number }[] = await m.query(
      `SELECT escalation_id AS id, count(*)::int AS n FROM ${tableOf(m, EscalationEvidenceRow)} WHERE escalation_id = ANY($1) GROUP BY 1`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return [];
      const a = r.assigneeCsmId ? csms.find((c) => c.id === r.assigneeCsmId) : undefined;
      return [{
        id: r.id, accountId: r.accountId, accountName: accounts.find((x) => x.accountId === r.accountId)?.name ?? null, reason: r.reason, rule: r.rule,
        state: r.state, priority: r.priority, assignee: a ? { csmId: a.id, name: a.name, email: a.email } : null, teamId: r.teamId,
        routingWhy: r.routingWhy, openedWhy: r.openedWhy, openedBy: r.openedBy, openedAt: r.openedAt.toISOString(), assignedAt: iso(r.assignedAt),
        ackDueAt: iso(r.ackDueAt), acknowledgedAt: iso(r.acknowledgedAt), closedAt: iso(r.closedAt), resolution: r.resolution,
        handBackNote: r.handBackNote, slaBreachedAt: iso(r.slaBreachedAt), breachCount: r.breachCount,
        evidenceCount: counts.find((c) => c.id === r.id)?.n ?? 0,
      }];
    });
  }

  /** One escalation with everything a CSM needs without asking the customer again. */
  /** One escalation's summary (state, assignee, resolution, hand-back note), without the context. */
  async summary(id: string): Promise<EscalationSummary> {
    const [summary] = await this.summaries(this.ds.manager, [id]);
    if (!summary) throw new NotFoundException(`escalation ${id} not found`);
    return summary;
  }

  async bundle(id: string) {
    const m = this.ds.manager;
    const [summary] = await this.summaries(m, [id]);
    if (!summary) throw new NotFoundException(`escalation ${id} not found`);
    const row = await m.getRepository(EscalationRow).findOneByOrFail({ id });
    const [evidence, audit, account, health, team] = await Promise.all([
      m.getRepository(EscalationEvidenceRow).find({ where: { escalationId: id }, order: { seq: 'ASC' } }),
      m.getRepository(EscalationAuditRow).find({ where: { escalationId: id }, order: { seq: 'ASC' } }),
      m.getRepository(AccountContextRow).findOneBy({ accountId: row.accountId }),
      m.getRepository(AccountHealthProjection).findOneBy({ accountId: row.accountId }),
      row.teamId ? m.getRepository(TeamRow).findOneBy({ id: row.teamId }) : Promise.resolve(null),
    ]);
    const contactRefs = evidence.filter((e) => e.kind === 'ticket' || e.kind === 'call');
    const contacts = contactRefs.length
      ? await m.getRepository(SupportContact).createQueryBuilder('c')
        .where(`(c.kind || ':' || c.ref) IN (:...keys)`, { keys: contactRefs.map((e) => `${e.kind}:${e.ref}`) })
        .orderBy('c.occurred_at', 'ASC').getMany()
      : [];
    const recentIds: { id: string }[] = await m.query(
      `SELECT id FROM ${tableOf(m, EscalationRow)} WHERE account_id = $1 AND id <> $2 ORDER BY opened_at DESC LIMIT 10`,
      [row.accountId, id],
    );
    const lead = team?.leadCsmId ? await m.getRepository(CsmRow).findOneBy({ id: team.leadCsmId }) : null;
    return {
      ...summary,
      team: team ? { id: team.id, name: team.name, region: team.region, businessHours: team.businessHours, lead: lead ? { csmId: lead.id, name: lead.name, email: lead.email } : null } : null,
      account: {
        accountId: row.accountId,
        profile: { name: account?.name ?? null, arr: account?.arr ?? null, region: account?.region ?? null, plan: account?.plan ?? null, ownerCsmEmail: account?.ownerCsmEmail ?? null },
        phase: account?.phase ?? null,
        touchModel: account?.touchModel ?? null,
        usageStatus: account?.usageStatus ?? null,
        onboardingStalledAt: iso(account?.onboardingStalledAt ?? null),
        health: health ? { score: health.score, band: health.band, previousBand: health.previousBand, computedAt: health.computedAt.toISOString(), topMovers: account?.topMovers ?? [] } : null,
      },
      evidence: evidence.map((e) => ({ kind: e.kind, ref: e.ref, summary: e.summary, at: e.at.toISOString(), rule: e.rule, why: e.why, addedAt: e.addedAt.toISOString() })),
      contacts: contacts.map((c) => ({
        kind: c.kind, ref: c.ref, category: c.category, tags: c.tags, subject: c.subject, channel: c.channel, status: c.status, priority: c.priority,
        sentiment: c.sentiment, satisfaction: c.satisfaction, needsCs: c.needsCs, occurredAt: c.occurredAt.toISOString(), updatedAt: c.updatedAt.toISOString(),
      })),
      recentEscalations: await this.summaries(m, recentIds.map((r) => r.id)),
      audit: audit.map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, detail: a.detail })),
    };
  }
}
