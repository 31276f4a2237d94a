import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { InstanceRole, RateLimitTier, User, UserStatus } from 'src/modules/users/user.entity';

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: InstanceRole, enumName: 'InstanceRole' }) instanceRole: InstanceRole;
  @ApiProperty({ enum: UserStatus, enumName: 'UserStatus' }) status: UserStatus;
  @ApiProperty({ enum: RateLimitTier, enumName: 'RateLimitTier' }) rateLimitTier: RateLimitTier;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) personalWorkspaceId: string | null;
  @ApiProperty() createdAt: Date;

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

export class UserPageDto {
  @ApiProperty({ type: [UserDto] }) items: UserDto[];
  @ApiProperty() total: number;
}

export class ListUsersQuery {
  @ApiPropertyOptional({ description: 'Matches email or name, case-insensitive' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset: number = 0;
}

export class UpdateUserAdminDto {
  @ApiPropertyOptional({ enum: InstanceRole, enumName: 'InstanceRole' })
  @IsOptional()
  @IsEnum(InstanceRole)
  instanceRole?: InstanceRole;

  @ApiPropertyOptional({ enum: RateLimitTier, enumName: 'RateLimitTier' })
  @IsOptional()
  @IsEnum(RateLimitTier)
  rateLimitTier?: RateLimitTier;
}
