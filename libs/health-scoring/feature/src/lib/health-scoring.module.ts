import { Module } from '@nestjs/common';
import { ProductActivityConsumer } from './product-activity.consumer';

@Module({ providers: [ProductActivityConsumer] })
export class HealthScoringModule {}
