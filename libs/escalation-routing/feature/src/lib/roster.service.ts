import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CLOCK, Topics, type Clock } from '@kizuna/shared/contracts';
import { EventPublisher, OutboxRelay } from '@kizuna/shared/messaging';
import { enqueueOutbox } from '@kizuna/shared/persistence';
import { CsmRow, EscalationRow, TeamRow } from '@kizuna/escalation-routing/data-access';
import { OPEN_STATES, type Csm, type Team } from '@kizuna/escalation-routing/domain';

export interface CsmView {
  id: string;
  name: string;
  email: string;
  region: string | null;
  teamId: string | null;
  specialties: string[];
  capacity: number;
  active: boolean;
  outOfOffice: { from: string; to: string } | null;
  notificationChannels: { type: string; target: string }[];
  /** Open escalations assigned now. */
  openEscalations: number;
  updatedAt: string;
}

export interface TeamView {
  id: string;
  name: string;
  region: string;
  leadCsmId: string | null;
  businessHours: { timeZone: string; days: number[]; start: string; end: string };
  updatedAt: string;
}

export interface CsmInput {
  name: string;
  email: string;
  region?: string | null;
  teamId?: string | null;
  specialties?: string[];
  capacity: number;
  active: boolean;
  outOfOffice?: { from: string; to: string } | null;
  notificationChannels?: { type: string; target: string }[];
}

export interface TeamInput {
  name: string;
  region: string;
  leadCsmId?: string | null;
  businessHours: { timeZone: string; days: number[]; start: string; end: string };
}

const OPEN = OPEN_STATES.map((s) => `'${s}'`).join(', ');

export const toCsm = (r: CsmRow): Csm => ({
  id: r.id, name: r.name, email: r.email, region: r.region, teamId: r.teamId, specialties: r.specialties, capacity: r.capacity, active: r.active,
  outOfOffice: r.outOfOfficeFrom && r.outOfOfficeTo ? { from: r.outOfOfficeFrom, to: r.outOfOfficeTo } : null,
});

export const toTeam = (r: TeamRow): Team => ({ id: r.id, name: r.name, region: r.region, leadCsmId: r.leadCsmId, businessHours: r.businessHours });

/**
 * The roster: CSMs and teams, and what routing needs of them (load, last assignment). Every CSM
 * change is published as `cs.roster.csm.changed.v1` (its e-mail, team and active flag), in the
 * transaction that stores it (outbox): health-scoring and lifecycle scope team-wide reads with it.
 */
export const MAX_TEAMS = 1000;

@Injectable()
export class RosterService {
  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly publisher: EventPublisher,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Everything routing needs, read in the caller's transaction: the CSMs with their open escalations
   * counted in the same statement (an escalation's round trips are its latency), then the teams.
   */
  async routingView(m: EntityManager): Promise<{ csms: Csm[]; rows: CsmRow[]; teams: Team[]; teamRows: TeamRow[]; load: Record<string, number>; lastAssignedAt: Record<string, Date | null> }> {
    const escalations = m.connection.getMetadata(EscalationRow).tablePath;
    const { entities: rows, raw } = await m
      .getRepository(CsmRow)
      .createQueryBuilder('c')
      .addSelect(`(SELECT count(*)::int FROM ${escalations} e WHERE e.assignee_csm_id = c.id AND e.state IN (${OPEN}))`, 'open_load')
      .orderBy('c.id', 'ASC')
      .getRawAndEntities<{ c_id: string; open_load: number }>();
    const teamRows = await m.getRepository(TeamRow).find({ order: { id: 'ASC' } });
    const load = Object.fromEntries(raw.filter((r) => r.open_load > 0).map((r) => [r.c_id, r.open_load]));
    return { csms: rows.map(toCsm), rows, teams: teamRows.map(toTeam), teamRows, load, lastAssignedAt: Object.fromEntries(rows.map((r) => [r.id, r.lastAssignedAt])) };
  }

  async loads(m: EntityManager): Promise<Record<string, number>> {
    const counts: { id: string; n: number }[] = await m.query(
      `SELECT assignee_csm_id AS id, count(*)::int AS n FROM ${m.connection.getMetadata(EscalationRow).tablePath}
        WHERE state IN (${OPEN}) AND assignee_csm_id IS NOT NULL GROUP BY 1`,
    );
    return Object.fromEntries(counts.map((c) => [c.id, c.n]));
  }

  async putCsm(id: string, input: CsmInput): Promise<{ created: boolean; csm: CsmView }> {
    const now = this.clock.now();
    const existing = await this.ds.transaction(async (m) => {
      const repo = m.getRepository(CsmRow);
      const before = await repo.createQueryBuilder('c').setLock('pessimistic_write').where('c.id = :id', { id }).getOne();
      const row = await repo.save({
        id,
        name: input.name,
        email: input.email.toLowerCase(),
        region: input.region ?? null,
        teamId: input.teamId ?? null,
        specialties: input.specialties ?? [],
        capacity: input.capacity,
        active: input.active,
        outOfOfficeFrom: input.outOfOffice ? new Date(input.outOfOffice.from) : null,
        outOfOfficeTo: input.outOfOffice ? new Date(input.outOfOffice.to) : null,
        notificationChannels: input.notificationChannels ?? [],
        lastAssignedAt: before?.lastAssignedAt ?? null,
        updatedAt: now,
      });
      // Only what other services scope by is published: a change of capacity or channels is not news to them.
      if (!before || before.email !== row.email || before.teamId !== row.teamId || before.active !== row.active) {
        const event = this.publisher.envelope({
          type: 'cs.roster.csm.changed.v1',
          subject: `csm:${id}`,
          data: { csmId: id, email: row.email, teamId: row.teamId, active: row.active, changedAt: now.toISOString() },
        });
        await enqueueOutbox(m, [{ topic: Topics.roster, event }]);
      }
      return before;
    });
    this.relay.kick();
    return { created: !existing, csm: await this.getCsm(id) };
  }

  async getCsm(id: string): Promise<CsmView> {
    const row = await this.ds.getRepository(CsmRow).findOneBy({ id });
    if (!row) throw new NotFoundException(`CSM ${id} not found`);
    const load = await this.loads(this.ds.manager);
    return this.csmView(row, load[id] ?? 0);
  }

  async listCsms(filter: { teamId?: string; region?: string; active?: boolean }, limit: number, offset: number): Promise<{ total: number; limit: number; offset: number; items: CsmView[] }> {
    const qb = this.ds.getRepository(CsmRow).createQueryBuilder('c');
    if (filter.teamId) qb.andWhere('c.team_id = :teamId', { teamId: filter.teamId });
    if (filter.region) qb.andWhere('lower(c.region) = lower(:region)', { region: filter.region });
    if (filter.active !== undefined) qb.andWhere('c.active = :active', { active: filter.active });
    const [rows, total] = await qb.orderBy('c.id').take(limit).skip(offset).getManyAndCount();
    const load = await this.loads(this.ds.manager);
    return { total, limit, offset, items: rows.map((r) => this.csmView(r, load[r.id] ?? 0)) };
  }

  async putTeam(id: string, input: TeamInput): Promise<{ created: boolean; team: TeamView }> {
    const repo = this.ds.getRepository(TeamRow);
    const existing = await repo.findOneBy({ id });
    await repo.save({ id, name: input.name, region: input.region, leadCsmId: input.leadCsmId ?? null, businessHours: input.businessHours, updatedAt: this.clock.now() });
    return { created: !existing, team: await this.getTeam(id) };
  }

  async getTeam(id: string): Promise<TeamView> {
    const row = await this.ds.getRepository(TeamRow).findOneBy({ id });
    if (!row) throw new NotFoundException(`team ${id} not found`);
    return this.teamView(row);
  }

  /** Every team, at most MAX_TEAMS (a hard cap: teams are few; the list is not paged). */
  async listTeams(): Promise<{ items: TeamView[] }> {
    return { items: (await this.ds.getRepository(TeamRow).find({ order: { id: 'ASC' }, take: MAX_TEAMS })).map((r) => this.teamView(r)) };
  }

  private csmView(r: CsmRow, open: number): CsmView {
    return {
      id: r.id, name: r.name, email: r.email, region: r.region, teamId: r.teamId, specialties: r.specialties, capacity: r.capacity, active: r.active,
      outOfOffice: r.outOfOfficeFrom && r.outOfOfficeTo ? { from: r.outOfOfficeFrom.toISOString(), to: r.outOfOfficeTo.toISOString() } : null,
      notificationChannels: r.notificationChannels, openEscalations: open, updatedAt: r.updatedAt.toISOString(),
    };
  }

  private teamView(r: TeamRow): TeamView {
    return { id: r.id, name: r.name, region: r.region, leadCsmId: r.leadCsmId, businessHours: r.businessHours, updatedAt: r.updatedAt.toISOString() };
  }
}
