import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { InstanceRole, RateLimitTier, User, UserStatus } from 'src/modules/users/user.entity';

registerEnumType(InstanceRole, { name: 'InstanceRole' });
registerEnumType(UserStatus, { name: 'UserStatus' });
registerEnumType(RateLimitTier, { name: 'RateLimitTier' });

@ObjectType('User')
export class UserDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() email: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ enum: InstanceRole, enumName: 'InstanceRole' }) @Field(() => InstanceRole) instanceRole: InstanceRole;
  @ApiProperty({ enum: UserStatus, enumName: 'UserStatus' }) @Field(() => UserStatus) status: UserStatus;
  @ApiProperty({ enum: RateLimitTier, enumName: 'RateLimitTier' }) @Field(() => RateLimitTier) rateLimitTier: RateLimitTier;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) personalWorkspaceId: string | null;
  @ApiProperty() @Field() createdAt: Date;

  static from(user: User): UserDto {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      instanceRole: user.instanceRole,
      status: user.status,
      rateLimitTier: user.rateLimitTier,
      personalWorkspaceId: user.personalWorkspaceId,
      createdAt: user.createdAt,
    };
  }
}

@ObjectType('UserPage')
export class UserPageDto {
  @ApiProperty({ type: [UserDto] }) @Field(() => [UserDto]) items: UserDto[];
  @ApiProperty() @Field(() => Int) total: number;
}

@ArgsType()
export class ListUsersQuery {
  @ApiPropertyOptional({ description: 'Matches email or name, case-insensitive' })
  @Field({ nullable: true, description: 'Matches email or name, case-insensitive' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @Field(() => Int, { defaultValue: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @Field(() => Int, { defaultValue: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset: number = 0;
}

@InputType('UpdateUserInput')
export class UpdateUserAdminDto {
  @ApiPropertyOptional({ enum: InstanceRole, enumName: 'InstanceRole' })
  @Field(() => InstanceRole, { nullable: true })
  @IsOptional()
  @IsEnum(InstanceRole)
  instanceRole?: InstanceRole;

  @ApiPropertyOptional({ enum: RateLimitTier, enumName: 'RateLimitTier' })
  @Field(() => RateLimitTier, { nullable: true })
  @IsOptional()
  @IsEnum(RateLimitTier)
  rateLimitTier?: RateLimitTier;
}
