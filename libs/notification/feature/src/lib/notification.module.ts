import { Module } from '@nestjs/common';
import { DeliveryWorker } from './delivery-worker.service';
import { NotificationController } from './notification.controller';
import { NotificationPlanner } from './notification-planner.service';
import { NotificationSettings } from './notification-settings.service';
import { NotificationSignalsConsumer } from './notification-signals.consumer';
import { PlayRunner } from './play-runner.service';
import { RecipientPreferences } from './recipient-preferences.service';

@Module({
  controllers: [NotificationController],
  providers: [NotificationSettings, NotificationPlanner, DeliveryWorker, PlayRunner, RecipientPreferences, NotificationSignalsConsumer],
})
export class NotificationModule {}
