import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEmail, IsEnum, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength, ValidateIf } from 'class-validator';
import { Permission } from 'src/common/auth/permission.enum';
import { BuiltInRole } from 'src/common/auth/roles';
import { WorkspaceRole } from 'src/modules/workspaces/workspace-role.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const MEMBER_ROLES = [...Object.values(BuiltInRole), 'custom'] as const;
type MemberRole = (typeof MEMBER_ROLES)[number];

export class WorkspaceDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() personal: boolean;
  @ApiProperty({ enum: MEMBER_ROLES, description: 'Your role in this workspace' }) role: MemberRole;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) customRoleId: string | null;
  @ApiProperty() createdAt: Date;
}

export class CreateWorkspaceDto {
  @ApiProperty({ example: 'Research team' })
  @IsString()
  @Transform(trim)
  @Length(1, 120)
  name: string;
}

export class UpdateWorkspaceDto extends CreateWorkspaceDto {}

export class MemberDto {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: MEMBER_ROLES }) role: MemberRole;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) customRoleId: string | null;
  @ApiProperty() joinedAt: Date;
}

export class SetMemberRoleDto {
  @ApiProperty({ enum: MEMBER_ROLES, description: '`custom` needs customRoleId' })
  @IsIn(MEMBER_ROLES)
  role: MemberRole;

  @ApiPropertyOptional({ format: 'uuid' })
  @ValidateIf((dto: SetMemberRoleDto) => dto.role === 'custom' || dto.customRoleId !== undefined)
  @IsUUID()
  customRoleId?: string;
}

export class AddMemberDto extends SetMemberRoleDto {
  @ApiProperty({ description: 'Email of an existing account' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsEmail()
  @MaxLength(320)
  email: string;
}

export class RoleDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true }) permissions: Permission[];
  @ApiProperty() createdAt: Date;

  static from(role: WorkspaceRole): RoleDto {
    return { id: role.id, name: role.name, permissions: role.permissions, createdAt: role.createdAt };
  }
}

export class CreateRoleDto {
  @ApiProperty({ example: 'analyst' })
  @IsString()
  @Transform(trim)
  @Length(1, 64)
  name: string;

  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true })
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true })
  permissions: Permission[];
}

export class UpdateRoleDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 64)
  name?: string;

  @ApiPropertyOptional({ enum: Permission, enumName: 'Permission', isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true })
  permissions?: Permission[];
}
