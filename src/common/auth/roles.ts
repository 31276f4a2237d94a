import { INSTANCE_PERMISSIONS, Permission, WORKSPACE_PERMISSIONS } from 'src/common/auth/permission.enum';

export enum BuiltInRole {
  Owner = 'owner',
  Admin = 'admin',
  Member = 'member',
  Viewer = 'viewer',
}

const VIEWER: Permission[] = [
  Permission.WorkspaceRead,
  Permission.MemberRead,
  Permission.RoleRead,
  Permission.ModelRead,
  Permission.ConversationRead,
  Permission.KnowledgeBaseRead,
  Permission.AgentRead,
  Permission.WorkflowRead,
];
const MEMBER: Permission[] = [
  ...VIEWER,
  Permission.ApiKeyRead,
  Permission.ApiKeyCreate,
  Permission.ApiKeyRevoke,
  Permission.ModelInvoke,
  Permission.ConversationWrite,
  Permission.KnowledgeBaseWrite,
  Permission.AgentWrite,
  Permission.WorkflowRun,
];
const ADMIN: Permission[] = [...MEMBER, Permission.WorkspaceUpdate, Permission.MemberManage, Permission.RoleManage, Permission.UsageRead];

/** The one role → permission map. Custom roles pick from WORKSPACE_PERMISSIONS. */
export const BUILT_IN_ROLE_PERMISSIONS: Readonly<Record<BuiltInRole, readonly Permission[]>> = {
  [BuiltInRole.Owner]: WORKSPACE_PERMISSIONS,
  [BuiltInRole.Admin]: ADMIN,
  [BuiltInRole.Member]: MEMBER,
  [BuiltInRole.Viewer]: VIEWER,
};

/** What an instance administrator holds on top of their workspace roles. */
export const INSTANCE_ADMIN_PERMISSIONS: readonly Permission[] = INSTANCE_PERMISSIONS;
