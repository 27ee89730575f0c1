import { Module } from '@nestjs/common';
import { LifecycleSignalsConsumer } from './lifecycle-signals.consumer';

@Module({ providers: [LifecycleSignalsConsumer] })
export class LifecycleModule {}
