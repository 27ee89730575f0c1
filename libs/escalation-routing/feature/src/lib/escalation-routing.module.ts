import { Module } from '@nestjs/common';
import { EscalationSignalsConsumer } from './escalation-signals.consumer';

@Module({ providers: [EscalationSignalsConsumer] })
export class EscalationRoutingModule {}
