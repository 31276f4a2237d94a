import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { JsonObjectScalar } from 'src/graphql/json-object.scalar';
import { AuditAction } from 'src/modules/audit/audit-event.entity';

registerEnumType(AuditAction, { name: 'AuditAction' });

@ArgsType()
export class ListAuditEventsQuery {
  @ApiPropertyOptional({ enum: AuditAction, enumName: 'AuditAction' })
  @Field(() => AuditAction, { nullable: true })
  @IsOptional()
  @IsEnum(AuditAction)
  action?: AuditAction;

  @ApiPropertyOptional({ format: 'uuid' })
  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsUUID()
  actorUserId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Return events older than this event id (pagination cursor)' })
  @Field(() => ID, { nullable: true, description: 'Return events older than this event id (pagination cursor)' })
  @IsOptional()
  @IsUUID()
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @Field(() => Int, { defaultValue: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
}

@ObjectType('AuditEvent')
export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ enum: AuditAction, enumName: 'AuditAction' }) @Field(() => AuditAction) action: AuditAction;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) actorUserId: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) actorApiKeyId: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) targetType: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) targetId: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) workspaceId: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) ip: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) @Field(() => JsonObjectScalar) metadata: Record<string, unknown>;
  @ApiProperty() @Field() createdAt: Date;
}
