import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { ListUsersQuery, UpdateUserAdminDto, UserDto, UserPageDto } from 'src/modules/users/users.dto';
import { UsersService } from 'src/modules/users/users.service';

@ApiTags('admin')
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminUserRead })
  @ApiOkResponse({ type: UserPageDto })
  list(@Query() query: ListUsersQuery): Promise<UserPageDto> {
    return this.users.list(query);
  }

  @Get(':userId')
  @Authenticated({ permission: Permission.AdminUserRead })
  @ApiOkResponse({ type: UserDto })
  get(@Param('userId', ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.users.get(userId);
  }

  @Patch(':userId')
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  @ApiOkResponse({ type: UserDto })
  update(@Auth() auth: AuthContext, @Param('userId', ParseUUIDPipe) userId: string, @Body() dto: UpdateUserAdminDto): Promise<UserDto> {
    return this.users.update(auth, userId, dto);
  }

  @Post(':userId/suspend')
  @HttpCode(200)
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  @ApiOkResponse({ type: UserDto })
  suspend(@Auth() auth: AuthContext, @Param('userId', ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.users.suspend(auth, userId);
  }

  @Post(':userId/reactivate')
  @HttpCode(200)
  @Authenticated({ permission: Permission.AdminUserManage, sessionOnly: true })
  @ApiOkResponse({ type: UserDto })
  reactivate(@Auth() auth: AuthContext, @Param('userId', ParseUUIDPipe) userId: string): Promise<UserDto> {
    return this.users.reactivate(auth, userId);
  }
}
