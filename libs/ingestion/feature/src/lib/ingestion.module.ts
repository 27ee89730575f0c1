import { Module } from '@nestjs/common';
import { loadConfig } from '@kizuna/shared/config';
import { AdminGuard } from './admin.guard';
import { IngestionConfig } from './ingestion.config';
import { PendingSweeper } from './pending-sweeper.service';
import { SegmentController } from './segment.controller';
import { SegmentIngestService } from './segment-ingest.service';
import { SourceRegistry } from './source-registry.service';
import { PendingController, SourcesController } from './sources.controller';

@Module({
  controllers: [SourcesController, PendingController, SegmentController],
  providers: [
    { provide: IngestionConfig, useFactory: () => loadConfig(IngestionConfig) },
    AdminGuard,
    SourceRegistry,
    SegmentIngestService,
    PendingSweeper,
  ],
})
export class IngestionModule {}
