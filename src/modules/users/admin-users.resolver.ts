import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { ListUsersQuery, UpdateUserAdminDto, UserDto, UserPageDto } from 'src/modules/users/users.dto';
import { UsersService } from 'src/modules/users/users.service';

/** Instance administration of accounts, as on /api/v1/admin/users. */
@Resolver(() => UserDto)
export class AdminUsersResolver {
  constructor(private readonly service: UsersService) {}

  @Query(() => UserPageDto, { description: 'Instance administrators only' })
  @Authenticated({ permission: Permission.AdminUserRead })
  users(@Args() query: ListUsersQuery): Promise<UserPageDto> {
    return this.service.list(query);
  }

  @Query(() => UserDto, { description: 'Instance administrators only' })
  @Authenticated({ permission: Permission.AdminUserRead })
  user(@Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.service.get(userId);
  }

  @Mutation(() => UserDto)
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  updateUser(
    @Auth() auth: AuthContext,
    @Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string,
    @Args('input') input: UpdateUserAdminDto,
  ): Promise<UserDto> {
    return this.service.update(auth, userId, input);
  }

  @Mutation(() => UserDto, { description: "Ends the user's sessions and stops their API keys at once" })
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  suspendUser(@Auth() auth: AuthContext, @Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.service.suspend(auth, userId);
  }

  @Mutation(() => UserDto)
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  reactivateUser(@Auth() auth: AuthContext, @Args('userId', { type: () => ID }, ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.service.reactivate(auth, userId);
  }
}
