import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum WorkspacesErrorCode {
  PersonalWorkspace = 'WORKSPACES_PERSONAL_WORKSPACE',
  LastOwner = 'WORKSPACES_LAST_OWNER',
  RoleAboveOwn = 'WORKSPACES_ROLE_ABOVE_OWN',
  AlreadyMember = 'WORKSPACES_ALREADY_MEMBER',
  RoleInUse = 'WORKSPACES_ROLE_IN_USE',
  RoleNameTaken = 'WORKSPACES_ROLE_NAME_TAKEN',
  InvalidRolePermissions = 'WORKSPACES_INVALID_ROLE_PERMISSIONS',
}

const STATUS: Record<WorkspacesErrorCode, HttpStatus> = {
  [WorkspacesErrorCode.PersonalWorkspace]: HttpStatus.CONFLICT,
  [WorkspacesErrorCode.LastOwner]: HttpStatus.CONFLICT,
  [WorkspacesErrorCode.RoleAboveOwn]: HttpStatus.FORBIDDEN,
  [WorkspacesErrorCode.AlreadyMember]: HttpStatus.CONFLICT,
  [WorkspacesErrorCode.RoleInUse]: HttpStatus.CONFLICT,
  [WorkspacesErrorCode.RoleNameTaken]: HttpStatus.CONFLICT,
  [WorkspacesErrorCode.InvalidRolePermissions]: HttpStatus.BAD_REQUEST,
};

export class WorkspacesException extends AppException {
  constructor(code: WorkspacesErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
