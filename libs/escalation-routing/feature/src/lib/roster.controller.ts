import { BadRequestException, Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { validateTeamHours } from '@kizuna/escalation-routing/domain';
import { Roles } from '@kizuna/shared/service-kit';
import { CsmDto, CsmListQueryDto, TeamDto } from './escalation.dto';
import { RosterService, type CsmView, type TeamView } from './roster.service';

/**
 * The roster: CSMs (capacity, specialties, out of office, channels) and teams (region, lead, business
 * hours). Changed by admin; read by admin, cs-lead and csm (staff data, not scoped by team).
 */
@Controller('v1')
export class RosterController {
  constructor(private readonly roster: RosterService) {}

  /** Creates or replaces a CSM. */
  @Put('csms/:id')
  @Roles('admin')
  async putCsm(@Param('id') id: string, @Body() body: CsmDto): Promise<CsmView> {
    checkId(id);
    if (body.outOfOffice && new Date(body.outOfOffice.from) >= new Date(body.outOfOffice.to)) {
      throw new BadRequestException('outOfOffice.to: must be after outOfOffice.from');
    }
    return (await this.roster.putCsm(id, body)).csm;
  }

  @Get('csms/:id')
  @Roles('admin', 'cs-lead', 'csm')
  getCsm(@Param('id') id: string): Promise<CsmView> {
    return this.roster.getCsm(id);
  }

  @Get('csms')
  @Roles('admin', 'cs-lead', 'csm')
  listCsms(@Query() q: CsmListQueryDto) {
    return this.roster.listCsms(
      { ...(q.teamId ? { teamId: q.teamId } : {}), ...(q.region ? { region: q.region } : {}), ...(q.active ? { active: q.active === 'true' } : {}) },
      q.limit ?? 100,
      q.offset ?? 0,
    );
  }

  /** Creates or replaces a team. */
  @Put('teams/:id')
  @Roles('admin')
  async putTeam(@Param('id') id: string, @Body() body: TeamDto): Promise<TeamView> {
    checkId(id);
    const errors = validateTeamHours(body.businessHours);
    if (errors.length) throw new BadRequestException(errors);
    return (await this.roster.putTeam(id, body)).team;
  }

  @Get('teams/:id')
  @Roles('admin', 'cs-lead', 'csm')
  getTeam(@Param('id') id: string): Promise<TeamView> {
    return this.roster.getTeam(id);
  }

  @Get('teams')
  @Roles('admin', 'cs-lead', 'csm')
  listTeams() {
    return this.roster.listTeams();
  }
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9._@-]{1,128}$/.test(id)) throw new BadRequestException('id: 1..128 characters of letters, digits, ".", "_", "@", "-"');
}
