import { Module } from '@nestjs/common';
import { loadConfig } from '@kizuna/shared/config';
import { AdminGuard } from './admin.guard';
import { IngestionConfig } from './ingestion.config';
import { PendingSweeper } from './pending-sweeper.service';
import { SegmentRoutes } from './segment.routes';
import { SegmentIngestService } from './segment-ingest.service';
import { SourceRegistry } from './source-registry.service';
import { PendingController, SourcesController } from './sources.controller';
import { AccountDirectoryService } from './account-directory.service';
import { EventIntake } from './event-intake.service';
import { SupportController } from './support.controller';
import { SupportIntakeService } from './support-intake.service';
import { WriteKeyAuth } from './write-key';

@Module({
  controllers: [SourcesController, PendingController, SupportController],
  providers: [
    { provide: IngestionConfig, useFactory: () => loadConfig(IngestionConfig) },
    AdminGuard,
    SourceRegistry,
    WriteKeyAuth,
    EventIntake,
    AccountDirectoryService,
    SegmentIngestService,
    SegmentRoutes,
    SupportIntakeService,
    PendingSweeper,
  ],
})
export class IngestionModule {}
