import { Body, Controller, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { NoBearerAuth } from '@kizuna/shared/service-kit';
import { AdminGuard } from './admin.guard';
import { PendingSweeper } from './pending-sweeper.service';
import { WebhookSecretDto } from './support.dto';
import { SourceRegistry, type IssuedKey, type SourceView } from './source-registry.service';

export class CreateSourceDto {
  @IsString() @IsNotEmpty() @MaxLength(128)
  name!: string;
}

export class RotateKeyDto {
  /** How long the current keys keep working (0: stop at once). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(7 * 24 * 3600)
  graceSeconds?: number;
}

/** Sources and write keys. Keys are shown once, on creation and rotation; only hashes are stored. */
@Controller('v1/admin/sources')
@NoBearerAuth('own-guard')
@UseGuards(AdminGuard)
export class SourcesController {
  constructor(private readonly registry: SourceRegistry) {}

  @Post()
  create(@Body() body: CreateSourceDto): Promise<IssuedKey> {
    return this.registry.create(body.name);
  }

  @Get()
  async list(): Promise<{ sources: SourceView[] }> {
    return { sources: await this.registry.list() };
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<SourceView> {
    return this.registry.get(id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  rotate(@Param('id') id: string, @Body() body: RotateKeyDto): Promise<IssuedKey> {
    return this.registry.rotate(id, body.graceSeconds ?? 0);
  }

  /** Sets the webhook signing secret the help desk shows (e.g. Zendesk's); stored encrypted, never returned. */
  @Put(':id/webhook-secret')
  setWebhookSecret(@Param('id') id: string, @Body() body: WebhookSecretDto): Promise<{ sourceId: string; hint: string; previousValidUntil: string }> {
    return this.registry.setWebhookSecret(id, body.secret, body.graceSeconds ?? 0);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Param('id') id: string): Promise<SourceView> {
    return this.registry.revoke(id);
  }
}

/** Events accepted without a known account, waiting for their user's group call. */
@Controller('v1/admin/pending')
@NoBearerAuth('own-guard')
@UseGuards(AdminGuard)
export class PendingController {
  constructor(private readonly sweeper: PendingSweeper) {}

  @Get()
  async list(): Promise<{ sources: Awaited<ReturnType<PendingSweeper['summary']>> }> {
    return { sources: await this.sweeper.summary() };
  }
}
