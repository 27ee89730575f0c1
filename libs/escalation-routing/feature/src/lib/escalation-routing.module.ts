import { Module } from '@nestjs/common';
import { EscalationEngine } from './escalation-engine.service';
import { EscalationSignalsConsumer } from './escalation-signals.consumer';
import { EscalationViews } from './escalation-views.service';
import { EscalationAccess } from './escalation-access.service';
import { EscalationsController } from './escalations.controller';
import { RosterController } from './roster.controller';
import { RosterService } from './roster.service';
import { RulesStore } from './rules-store.service';
import { SlaSweeper } from './sla-sweeper.service';
import { SupportKpis } from './support-kpis.service';

@Module({
  controllers: [RosterController, EscalationsController],
  providers: [RulesStore, RosterService, EscalationEngine, EscalationViews, EscalationAccess, SupportKpis, EscalationSignalsConsumer, SlaSweeper],
})
export class EscalationRoutingModule {}
