import { BadRequestException, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EscalationAuditRow, EscalationEvidenceRow, EscalationRow, SupportContact } from '@kizuna/escalation-routing/data-access';

const DAY_MS = 86_400_000;
const round = (v: unknown, digits = 2) => (v === null || v === undefined ? null : Math.round(Number(v) * 10 ** digits) / 10 ** digits);

/**
 * Support KPIs over a period, each with its definition (SMART: specific and time-bound).
 * Owned here because escalation-routing keeps every ticket and call and every escalation.
 */
@Injectable()
export class SupportKpis {
  constructor(private readonly ds: DataSource) {}

  async compute(fromIso: string, toIso: string) {
    const from = new Date(fromIso);
    const to = new Date(toIso);
    if (from >= to) throw new BadRequestException('from: must be before to');
    if (to.getTime() - from.getTime() > 400 * DAY_MS) throw new BadRequestException('the period is at most 400 days');
    const contacts = this.ds.getMetadata(SupportContact).tablePath;
    const escalations = this.ds.getMetadata(EscalationRow).tablePath;
    const evidence = this.ds.getMetadata(EscalationEvidenceRow).tablePath;
    const audit = this.ds.getMetadata(EscalationAuditRow).tablePath;
    const p = [from, to];
    const [v] = await this.ds.query(
      `SELECT count(*) FILTER (WHERE kind = 'ticket')::int AS tickets, count(*) FILTER (WHERE kind = 'call')::int AS calls,
              count(*) FILTER (WHERE kind = 'ticket' AND first_response_at IS NOT NULL)::int AS responded,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - occurred_at) / 60) FILTER (WHERE kind = 'ticket' AND first_response_at IS NOT NULL) AS frt_median,
              avg(extract(epoch FROM first_response_at - occurred_at) / 60) FILTER (WHERE kind = 'ticket' AND first_response_at IS NOT NULL) AS frt_avg,
              count(*) FILTER (WHERE kind = 'ticket' AND resolved_at IS NOT NULL)::int AS resolved,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - occurred_at) / 3600) FILTER (WHERE kind = 'ticket' AND resolved_at IS NOT NULL) AS res_median,
              avg(extract(epoch FROM resolved_at - occurred_at) / 3600) FILTER (WHERE kind = 'ticket' AND resolved_at IS NOT NULL) AS res_avg,
              count(satisfaction)::int AS rated, avg(satisfaction) AS csat_avg, count(*) FILTER (WHERE satisfaction >= 4)::int AS satisfied,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ${evidence} x WHERE x.kind = c.kind AND x.ref = c.ref))::int AS escalated
         FROM ${contacts} c WHERE occurred_at >= $1 AND occurred_at < $2`,
      p,
    );
    const [e] = await this.ds.query(
      `WITH e AS (
         SELECT x.opened_at, x.breach_count, (SELECT min(a.at) FROM ${audit} a WHERE a.escalation_id = x.id AND a.action = 'acknowledged') AS first_ack
           FROM ${escalations} x WHERE x.opened_at >= $1 AND x.opened_at < $2)
       SELECT count(*)::int AS opened, count(first_ack)::int AS acknowledged,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_ack - opened_at) / 60) FILTER (WHERE first_ack IS NOT NULL) AS tta_median,
              avg(extract(epoch FROM first_ack - opened_at) / 60) FILTER (WHERE first_ack IS NOT NULL) AS tta_avg,
              count(*) FILTER (WHERE breach_count > 0)::int AS breached
         FROM e`,
      p,
    );
    const total = v.tickets + v.calls;
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      volume: { tickets: v.tickets, calls: v.calls, total, definition: 'tickets created and calls started in [from, to)' },
      firstResponse: {
        medianMinutes: round(v.frt_median), averageMinutes: round(v.frt_avg), tickets: v.responded,
        definition: 'tickets created in the period: from creation to the first update that left status "new" (tickets created already open count from their first later update)',
      },
      resolution: {
        medianHours: round(v.res_median), averageHours: round(v.res_avg), resolved: v.resolved,
        definition: 'tickets created in the period: from creation to the first version seen solved or closed',
      },
      csat: {
        average: round(v.csat_avg), satisfiedShare: v.rated ? round(v.satisfied / v.rated, 4) : null, responses: v.rated,
        definition: 'ticket satisfaction (1..5) of tickets created in the period; satisfied = 4 or 5',
      },
      escalationRate: {
        rate: total ? round(v.escalated / total, 4) : null, escalatedContacts: v.escalated, contacts: total,
        definition: 'share of the tickets and calls of the period that are evidence of an escalation',
      },
      timeToAcknowledge: {
        medianMinutes: round(e.tta_median), averageMinutes: round(e.tta_avg), opened: e.opened, acknowledged: e.acknowledged, slaBreached: e.breached,
        definition: 'escalations opened in the period: from opening to the first CSM acknowledgement; slaBreached = escalations that missed their acknowledgement due time at least once',
      },
    };
  }
}
