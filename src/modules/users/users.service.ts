import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppEvents } from 'src/common/events/app-events';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { UpdateUserAdminDto, UserDto, UserPageDto } from 'src/modules/users/users.dto';
import { UsersErrorCode, UsersException } from 'src/modules/users/users.exception';
import { UsersRepository } from 'src/modules/users/users.repository';
import { InstanceRole, User, UserStatus } from 'src/modules/users/user.entity';

/** Instance administration of accounts: list, change role and tier, suspend, reactivate. */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly audit: AuditService,
    private readonly events: AppEvents,
  ) {}

  async list(query: { search?: string; limit: number; offset: number }): Promise<UserPageDto> {
    const [users, total] = await this.users.list(query);
    return { items: users.map((user) => UserDto.from(user)), total };
  }

  async get(id: string): Promise<UserDto> {
    return UserDto.from(await this.require(id));
  }

  async update(auth: AuthContext, id: string, dto: UpdateUserAdminDto): Promise<UserDto> {
    const user = await this.require(id);
    if (dto.instanceRole && dto.instanceRole !== user.instanceRole) {
      if (user.id === auth.userId) throw new UsersException(UsersErrorCode.SelfModification, 'You cannot change your own instance role');
      if (user.instanceRole === InstanceRole.Admin) await this.assertNotLastAdmin();
      await this.users.update(id, { instanceRole: dto.instanceRole });
      await this.events.emit('access.changed', { reason: 'instance-role' });
      await this.audit.record({
        action: AuditAction.UserRoleChanged,
        actor: auth,
        target: { type: 'user', id },
        metadata: { from: user.instanceRole, to: dto.instanceRole },
      });
    }
    if (dto.rateLimitTier && dto.rateLimitTier !== user.rateLimitTier) {
      await this.users.update(id, { rateLimitTier: dto.rateLimitTier });
      await this.events.emit('access.changed', { reason: 'rate-limit-tier' });
      await this.audit.record({
        action: AuditAction.UserRateLimitTierChanged,
        actor: auth,
        target: { type: 'user', id },
        metadata: { from: user.rateLimitTier, to: dto.rateLimitTier },
      });
    }
    return this.get(id);
  }

  /** Takes effect on the very next request of every token, refresh token and API key of the user. */
  async suspend(auth: AuthContext, id: string): Promise<UserDto> {
    const user = await this.require(id);
    if (user.id === auth.userId) throw new UsersException(UsersErrorCode.SelfModification, 'You cannot suspend yourself');
    if (user.status === UserStatus.Suspended) return UserDto.from(user);
    if (user.instanceRole === InstanceRole.Admin) await this.assertNotLastAdmin();
    await this.users.update(id, { status: UserStatus.Suspended, suspendedAt: new Date() });
    await this.events.emit('user.suspended', { userId: id });
    await this.audit.record({ action: AuditAction.UserSuspended, actor: auth, target: { type: 'user', id } });
    return this.get(id);
  }

  async reactivate(auth: AuthContext, id: string): Promise<UserDto> {
    const user = await this.require(id);
    if (user.status === UserStatus.Active) return UserDto.from(user);
    await this.users.update(id, { status: UserStatus.Active, suspendedAt: null });
    await this.events.emit('user.reactivated', { userId: id });
    await this.audit.record({ action: AuditAction.UserReactivated, actor: auth, target: { type: 'user', id } });
    return this.get(id);
  }

  private async require(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw CommonErrors.notFound('User');
    return user;
  }

  private async assertNotLastAdmin(): Promise<void> {
    if ((await this.users.countActiveAdmins()) <= 1) {
      throw new UsersException(UsersErrorCode.LastAdmin, 'The instance must keep at least one active administrator');
    }
  }
}
