import { Module } from '@nestjs/common';
import { RosterProjector } from '@kizuna/shared/service-kit';
import { LifecycleController } from './lifecycle.controller';
import { LifecycleEngine } from './lifecycle-engine.service';
import { LifecycleKpis } from './lifecycle-kpis.service';
import { LifecycleRulesStore } from './lifecycle-rules.store';
import { LifecycleSignalsConsumer } from './lifecycle-signals.consumer';
import { LifecycleTicker } from './lifecycle-ticker.service';

@Module({
  controllers: [LifecycleController],
  providers: [LifecycleRulesStore, LifecycleEngine, LifecycleSignalsConsumer, LifecycleTicker, LifecycleKpis, RosterProjector],
})
export class LifecycleModule {}
