import { Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDate, IsEnum, IsOptional, IsString, Length } from 'class-validator';
import { Permission } from 'src/common/auth/permission.enum';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';

@InputType('CreateApiKeyInput')
export class CreateApiKeyDto {
  @ApiProperty({ example: 'CI pipeline' })
  @Field()
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiPropertyOptional({
    enum: Permission,
    enumName: 'Permission',
    isArray: true,
    description: "Defaults to all of the creator's permissions in the workspace; never wider than them",
  })
  @Field(() => [Permission], {
    nullable: true,
    description: "Defaults to all of the creator's permissions in the workspace; never wider than them",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true })
  permissions?: Permission[];

  @ApiPropertyOptional({ description: 'When the key stops working (ISO 8601); must be in the future' })
  @Field(() => Date, { nullable: true, description: 'When the key stops working; must be in the future' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;
}

@ObjectType('ApiKey')
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ description: 'Public part of the key, shown to tell keys apart' })
  @Field({ description: 'Public part of the key, shown to tell keys apart' })
  prefix: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) userId: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) workspaceId: string;
  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true }) @Field(() => [Permission]) permissions: Permission[];
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) expiresAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) revokedAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) lastUsedAt: Date | null;
  @ApiProperty() @Field() createdAt: Date;

  static from(key: ApiKey): ApiKeyDto {
    return {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      userId: key.userId,
      workspaceId: key.workspaceId,
      permissions: key.permissions,
      expiresAt: key.expiresAt,
      revokedAt: key.revokedAt,
      lastUsedAt: key.lastUsedAt,
      createdAt: key.createdAt,
    };
  }
}

@ObjectType('CreatedApiKey')
export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The full key. It is shown only in this response; store it now' })
  @Field({ description: 'The full key. It is shown only in this response; store it now' })
  key: string;
}
