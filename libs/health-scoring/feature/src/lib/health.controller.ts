import { Body, Controller, Get, NotFoundException, Param, Put } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccountHealth } from '@kizuna/health-scoring/data-access';
import type { HealthScore, Scorecard } from '@kizuna/health-scoring/domain';
import { ScorecardStore } from './scorecard-store.service';

export interface AccountHealthView {
  accountId: string;
  score: number;
  band: string;
  segment: string | null;
  computedAt: string;
  scorecard: { id: string; version: number };
  /** Every component, measure and modifier with raw value, normalised value, weight and contribution in points. */
  explanation: HealthScore | null;
}

/** Health explanations and the scorecards (data, versioned, editable). */
@Controller('v1')
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    private readonly store: ScorecardStore,
  ) {}

  @Get('accounts/:accountId/health')
  async accountHealth(@Param('accountId') accountId: string): Promise<AccountHealthView> {
    const h = await this.ds.getRepository(AccountHealth).findOneBy({ accountId });
    if (!h) throw new NotFoundException(`no health score for account ${accountId} yet`);
    return {
      accountId,
      score: h.score,
      band: h.band,
      segment: h.segment,
      computedAt: h.computedAt.toISOString(),
      scorecard: { id: h.scorecardId, version: h.scorecardVersion },
      explanation: h.explanation as unknown as HealthScore | null,
    };
  }

  @Get('scorecards')
  async scorecards(): Promise<{ scorecards: Scorecard[] }> {
    return { scorecards: (await this.store.current()).scorecards };
  }

  @Get('scorecards/:id')
  scorecard(@Param('id') id: string): Promise<Scorecard> {
    return this.store.get(id);
  }

  /** Saves an edited scorecard as its next version (validated); the next scores use it. */
  @Put('scorecards/:id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<Scorecard> {
    return this.store.saveNewVersion(id, body);
  }
}
