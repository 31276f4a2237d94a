import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import type { UsageRecord } from 'src/modules/model-router/usage/usage-record.entity';
import type { UsageKind, UsageOutcome } from 'src/modules/model-router/usage/usage.contract';

export class ListUsageQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'Inclusive start; default 30 days before `to`' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Exclusive end; default now. At most 366 days after `from`.' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only this member (needs usage.read unless it is you)' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only calls made with this API key of the workspace' })
  @IsOptional()
  @IsUUID()
  apiKeyId?: string;

  @ApiPropertyOptional({ maxLength: 128, description: 'Only calls answered by this concrete model' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  model?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Records older than this record id (the previous page’s nextCursor)' })
  @IsOptional()
  @IsUUID()
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
}

export class UsageRecordDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) apiKeyId: string | null;
  @ApiProperty({ enum: ['chat', 'embedding'] }) kind: UsageKind;
  @ApiProperty({ description: 'What the caller asked for: a name, alias, tier or auto' }) requestedModel: string;
  @ApiProperty({ nullable: true, type: String }) model: string | null;
  @ApiProperty({ nullable: true, type: String }) provider: string | null;
  @ApiProperty({ nullable: true, type: String }) nodeId: string | null;
  @ApiProperty() promptTokens: number;
  @ApiProperty() completionTokens: number;
  @ApiProperty() totalTokens: number;
  @ApiProperty({ nullable: true, type: Number }) timeToFirstTokenMs: number | null;
  @ApiProperty() durationMs: number;
  @ApiProperty({ enum: ['complete', 'incomplete', 'error'] }) outcome: UsageOutcome;
  @ApiProperty() cached: boolean;
  @ApiProperty({ nullable: true, type: String }) errorCode: string | null;

  static from(record: UsageRecord): UsageRecordDto {
    return {
      id: record.id,
      createdAt: record.createdAt,
      userId: record.userId,
      apiKeyId: record.apiKeyId,
      kind: record.kind,
      requestedModel: record.requestedModel,
      model: record.model,
      provider: record.provider,
      nodeId: record.nodeId,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      totalTokens: record.promptTokens + record.completionTokens,
      timeToFirstTokenMs: record.timeToFirstTokenMs,
      durationMs: record.durationMs,
      outcome: record.outcome,
      cached: record.cached,
      errorCode: record.errorCode,
    };
  }
}

export class UsageModelTotalsDto {
  @ApiProperty({ nullable: true, type: String, description: 'null: calls that failed before a model was chosen' }) model: string | null;
  @ApiProperty() calls: number;
  @ApiProperty() promptTokens: number;
  @ApiProperty() completionTokens: number;
  @ApiProperty() totalTokens: number;
}

export class UsageTotalsDto {
  @ApiProperty() calls: number;
  @ApiProperty() promptTokens: number;
  @ApiProperty() completionTokens: number;
  @ApiProperty() totalTokens: number;
  @ApiProperty({ type: [UsageModelTotalsDto] }) byModel: UsageModelTotalsDto[];
}

export class UsagePageDto {
  @ApiProperty() from: Date;
  @ApiProperty() to: Date;
  @ApiProperty({ type: [UsageRecordDto], description: 'Newest first' }) items: UsageRecordDto[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Pass as `before` for the next page; null on the last' })
  nextCursor: string | null;
  @ApiProperty({ type: UsageTotalsDto, description: 'Over the whole range and filter, not just this page' }) totals: UsageTotalsDto;
}
