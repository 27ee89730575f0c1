import { Module } from '@nestjs/common';
import { NotificationSignalsConsumer } from './notification-signals.consumer';

@Module({ providers: [NotificationSignalsConsumer] })
export class NotificationModule {}
