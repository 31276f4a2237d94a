import { Permission } from 'src/common/auth/permission.enum';
import { InstanceRole, RateLimitTier } from 'src/modules/users/user.entity';

/** Who is calling, resolved once per request by the auth guard. */
export interface AuthContext {
  userId: string;
  email: string;
  /** Profile fields, so that "who am I" needs no extra query. */
  profile: { name: string; personalWorkspaceId: string | null; createdAt: Date; rateLimitTier: RateLimitTier };
  instanceRole: InstanceRole;
  /** The workspace this request acts in (route param, X-Workspace-Id, key's workspace, or personal). */
  workspaceId: string;
  /** Effective permissions in `workspaceId`, plus instance permissions for admins. */
  permissions: ReadonlySet<Permission>;
  /** Effective tier for this request (an unlimited API key lifts its owner's). */
  rateLimitTier: RateLimitTier;
  /** Set when the caller used an API key; its permissions are already intersected in. */
  apiKeyId?: string;
  /** Set when the caller used an access token: the login session it belongs to. */
  sessionId?: string;
}
