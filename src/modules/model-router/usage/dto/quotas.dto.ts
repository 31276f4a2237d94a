import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { QUOTA_PERIODS, QUOTA_SCOPES } from 'src/modules/model-router/usage/quota-windows';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';

/** 10^12 tokens: far above any real budget, and exact in JavaScript and Lua numbers. */
export const MAX_QUOTA_TOKENS = 1_000_000_000_000;

export class QuotaKeyParams {
  @ApiProperty({ enum: QUOTA_SCOPES, enumName: 'QuotaScope' })
  @IsIn(QUOTA_SCOPES)
  scope: QuotaScope;

  @ApiProperty({ format: 'uuid', description: 'The workspace, user or API key id' })
  @IsUUID()
  subjectId: string;

  @ApiProperty({ enum: QUOTA_PERIODS, enumName: 'QuotaPeriod', description: 'UTC calendar day or UTC calendar month' })
  @IsIn(QUOTA_PERIODS)
  period: QuotaPeriod;
}

export class SetQuotaDto {
  @ApiProperty({ minimum: 1, maximum: MAX_QUOTA_TOKENS, example: 1_000_000, description: 'Prompt plus completion tokens per window' })
  @IsInt()
  @Min(1)
  @Max(MAX_QUOTA_TOKENS)
  limitTokens: number;
}

export class ListQuotasQuery {
  @ApiPropertyOptional({ enum: QUOTA_SCOPES, enumName: 'QuotaScope' })
  @IsOptional()
  @IsIn(QUOTA_SCOPES)
  scope?: QuotaScope;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  subjectId?: string;

  @ApiPropertyOptional({ enum: QUOTA_PERIODS, enumName: 'QuotaPeriod' })
  @IsOptional()
  @IsIn(QUOTA_PERIODS)
  period?: QuotaPeriod;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ minimum: 0, maximum: 1_000_000, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  offset: number = 0;
}

/** A quota's limit and what its current window has counted. */
export class QuotaStatusDto {
  @ApiProperty({ enum: QUOTA_SCOPES, enumName: 'QuotaScope' }) scope: QuotaScope;
  @ApiProperty({ format: 'uuid' }) subjectId: string;
  @ApiProperty({ enum: QUOTA_PERIODS, enumName: 'QuotaPeriod' }) period: QuotaPeriod;
  @ApiProperty() limitTokens: number;
  @ApiProperty({ description: 'Tokens counted in the current window, including calls in flight' }) usedTokens: number;
  @ApiProperty() remainingTokens: number;
  @ApiProperty({ description: 'Start of the next window (UTC)' }) resetAt: Date;
}

export class QuotaDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: QUOTA_SCOPES, enumName: 'QuotaScope' }) scope: QuotaScope;
  @ApiProperty({ format: 'uuid' }) subjectId: string;
  @ApiProperty({ enum: QUOTA_PERIODS, enumName: 'QuotaPeriod' }) period: QuotaPeriod;
  @ApiProperty() limitTokens: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Counted in the current window; null when the counters cannot be read' })
  usedTokens: number | null;
  @ApiProperty({ description: 'Start of the next window (UTC)' }) resetAt: Date;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class QuotaPageDto {
  @ApiProperty({ type: [QuotaDto] }) items: QuotaDto[];
  @ApiProperty() total: number;
}
