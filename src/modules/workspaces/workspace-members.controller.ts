import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { MembersService } from 'src/modules/workspaces/members.service';
import { AddMemberDto, MemberDto, SetMemberRoleDto } from 'src/modules/workspaces/workspaces.dto';

@ApiTags('workspaces')
@ApiParam({ name: 'workspaceId', format: 'uuid' })
@Controller('workspaces/:workspaceId/members')
export class WorkspaceMembersController {
  constructor(private readonly members: MembersService) {}

  @Get()
  @Authenticated({ permission: Permission.MemberRead })
  @ApiOkResponse({ type: [MemberDto] })
  list(@Auth() auth: AuthContext): Promise<MemberDto[]> {
    return this.members.list(auth);
  }

  @Post()
  @Authenticated({ permission: Permission.MemberManage })
  @ApiCreatedResponse({ type: MemberDto })
  add(@Auth() auth: AuthContext, @Body() dto: AddMemberDto): Promise<MemberDto> {
    return this.members.add(auth, dto);
  }

  @Put(':userId/role')
  @Authenticated({ permission: Permission.MemberManage })
  @ApiOkResponse({ type: MemberDto })
  setRole(@Auth() auth: AuthContext, @Param('userId', ParseUUIDPipe) userId: string, @Body() dto: SetMemberRoleDto): Promise<MemberDto> {
    return this.members.setRole(auth, userId, dto);
  }

  @Delete(':userId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.MemberManage })
  @ApiNoContentResponse()
  remove(@Auth() auth: AuthContext, @Param('userId', ParseUUIDPipe) userId: string): Promise<void> {
    return this.members.remove(auth, userId);
  }
}
