import { Module } from '@nestjs/common';
import { RosterProjector } from '@kizuna/shared/service-kit';
import { BackfillService } from './backfill.service';
import { HealthController } from './health.controller';
import { HealthScorer } from './health-scorer.service';
import { HealthSignalsConsumer } from './health-signals.consumer';
import { HealthSweeper } from './health-sweeper.service';
import { ScorecardStore } from './scorecard-store.service';

@Module({
  controllers: [HealthController],
  providers: [ScorecardStore, HealthScorer, HealthSignalsConsumer, HealthSweeper, BackfillService, RosterProjector],
})
export class HealthScoringModule {}
