import { Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEmail, IsEnum, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength, ValidateIf } from 'class-validator';
import { Permission } from 'src/common/auth/permission.enum';
import { BuiltInRole } from 'src/common/auth/roles';
import { WorkspaceRole } from 'src/modules/workspaces/workspace-role.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const MEMBER_ROLES = [...Object.values(BuiltInRole), 'custom'] as const;
type MemberRole = (typeof MEMBER_ROLES)[number];
/** The same roles as a GraphQL enum (`Owner` ... `Custom`), carrying the REST values. */
const MemberRoleEnum = { ...BuiltInRole, Custom: 'custom' } as const;
registerEnumType(MemberRoleEnum, { name: 'MemberRole' });

export enum MemberChange {
  Added = 'added',
  RoleChanged = 'role-changed',
  Removed = 'removed',
}
registerEnumType(MemberChange, { name: 'MemberChange' });

@ObjectType('Workspace')
export class WorkspaceDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty() @Field() personal: boolean;
  @ApiProperty({ enum: MEMBER_ROLES, description: 'Your role in this workspace' })
  @Field(() => MemberRoleEnum, { description: 'Your role in this workspace' })
  role: MemberRole;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) customRoleId: string | null;
  @ApiProperty() @Field() createdAt: Date;
}

@InputType('CreateWorkspaceInput')
export class CreateWorkspaceDto {
  @ApiProperty({ example: 'Research team' })
  @Field()
  @IsString()
  @Transform(trim)
  @Length(1, 120)
  name: string;
}

@InputType('UpdateWorkspaceInput')
export class UpdateWorkspaceDto extends CreateWorkspaceDto {}

@ObjectType('Member')
export class MemberDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) userId: string;
  @ApiProperty() @Field() email: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ enum: MEMBER_ROLES }) @Field(() => MemberRoleEnum) role: MemberRole;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) customRoleId: string | null;
  @ApiProperty() @Field() joinedAt: Date;
}

/** Pushed to `workspaceMemberChanged` subscribers; refetch `members` for names and emails. */
@ObjectType('WorkspaceMemberChange')
export class WorkspaceMemberChangeDto {
  @Field(() => ID) workspaceId: string;
  @Field(() => ID) userId: string;
  @Field(() => MemberChange) change: MemberChange;
  @Field(() => MemberRoleEnum, { nullable: true, description: 'The new role; null when removed' }) role: MemberRole | null;
  @Field(() => ID, { nullable: true }) customRoleId: string | null;
  @Field(() => ID, { description: 'Who made the change' }) actorUserId: string;
  @Field() changedAt: Date;
}

@InputType('SetMemberRoleInput')
export class SetMemberRoleDto {
  @ApiProperty({ enum: MEMBER_ROLES, description: '`custom` needs customRoleId' })
  @Field(() => MemberRoleEnum, { description: '`Custom` needs customRoleId' })
  @IsIn(MEMBER_ROLES)
  role: MemberRole;

  @ApiPropertyOptional({ format: 'uuid' })
  @Field(() => ID, { nullable: true })
  @ValidateIf((dto: SetMemberRoleDto) => dto.role === 'custom' || (dto.customRoleId !== undefined && dto.customRoleId !== null))
  @IsUUID()
  customRoleId?: string;
}

@InputType('AddMemberInput')
export class AddMemberDto extends SetMemberRoleDto {
  @ApiProperty({ description: 'Email of an existing account' })
  @Field({ description: 'Email of an existing account' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsEmail()
  @MaxLength(320)
  email: string;
}

@ObjectType('WorkspaceRole')
export class RoleDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true }) @Field(() => [Permission]) permissions: Permission[];
  @ApiProperty() @Field() createdAt: Date;

  static from(role: WorkspaceRole): RoleDto {
    return { id: role.id, name: role.name, permissions: role.permissions, createdAt: role.createdAt };
  }
}

@InputType('CreateRoleInput')
export class CreateRoleDto {
  @ApiProperty({ example: 'analyst' })
  @Field()
  @IsString()
  @Transform(trim)
  @Length(1, 64)
  name: string;

  @ApiProperty({ enum: Permission, enumName: 'Permission', isArray: true })
  @Field(() => [Permission])
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true })
  permissions: Permission[];
}

@InputType('UpdateRoleInput')
export class UpdateRoleDto {
  @ApiPropertyOptional()
  @Field({ nullable: true })
  // Absent means "keep"; null is refused rather than written to a NOT NULL column.
  @ValidateIf((_dto: UpdateRoleDto, value: unknown) => value !== undefined)
  @IsString()
  @Transform(trim)
  @Length(1, 64)
  name?: string;

  @ApiPropertyOptional({ enum: Permission, enumName: 'Permission', isArray: true })
  @Field(() => [Permission], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsEnum(Permission, { each: true })
  permissions?: Permission[];
}
