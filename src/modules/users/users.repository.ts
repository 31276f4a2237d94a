import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, ILike, Repository } from 'typeorm';
import { BuiltInRole } from 'src/common/auth/roles';
import { InstanceRole, User, UserStatus } from 'src/modules/users/user.entity';
import { WorkspaceMember } from 'src/modules/workspaces/workspace-member.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

export interface NewAccount {
  email: string;
  name: string;
  passwordHash?: string;
  oidcSubject?: string;
}

@Injectable()
export class UsersRepository {
  private readonly users: Repository<User>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.users = dataSource.getRepository(User);
  }

  /**
   * Creates the user, their personal workspace and owner membership in one transaction.
   * The table lock serialises sign-ups so that exactly one first user becomes admin.
   * Returns null when sign-up is closed and this is not the first user.
   */
  async createAccount(account: NewAccount, signupOpen: boolean): Promise<User | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
      const isFirst = (await manager.count(User)) === 0;
      if (!isFirst && !signupOpen) return null;
      const user = await manager.save(
        manager.create(User, {
          email: account.email,
          name: account.name,
          passwordHash: account.passwordHash ?? null,
          oidcSubject: account.oidcSubject ?? null,
          instanceRole: isFirst ? InstanceRole.Admin : InstanceRole.User,
        }),
      );
      const workspace = await manager.save(
        manager.create(Workspace, { name: `${account.name}'s workspace`, personal: true, createdById: user.id }),
      );
      await manager.save(
        manager.create(WorkspaceMember, { workspaceId: workspace.id, userId: user.id, role: BuiltInRole.Owner, customRoleId: null }),
      );
      await manager.update(User, { id: user.id }, { personalWorkspaceId: workspace.id });
      return { ...user, personalWorkspaceId: workspace.id };
    });
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email });
  }

  findByOidcSubject(subject: string): Promise<User | null> {
    return this.users.findOneBy({ oidcSubject: subject });
  }

  /** The only read that loads the password hash. */
  findByEmailWithPassword(email: string): Promise<User | null> {
    return this.users.createQueryBuilder('user').addSelect('user.passwordHash').where('user.email = :email', { email }).getOne();
  }

  async linkOidcSubject(id: string, subject: string): Promise<void> {
    await this.users.update({ id }, { oidcSubject: subject });
  }

  list(query: { search?: string; limit: number; offset: number }): Promise<[User[], number]> {
    const where = query.search ? [{ email: ILike(`%${escapeLike(query.search)}%`) }, { name: ILike(`%${escapeLike(query.search)}%`) }] : {};
    return this.users.findAndCount({ where, order: { createdAt: 'ASC', id: 'ASC' }, take: query.limit, skip: query.offset });
  }

  async update(id: string, changes: Partial<Pick<User, 'instanceRole' | 'rateLimitTier' | 'status' | 'suspendedAt'>>): Promise<void> {
    await this.users.update({ id }, changes);
  }

  countActiveAdmins(): Promise<number> {
    return this.users.countBy({ instanceRole: InstanceRole.Admin, status: UserStatus.Active });
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}
