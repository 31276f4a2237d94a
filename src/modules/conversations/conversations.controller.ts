import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { ConversationsService } from 'src/modules/conversations/conversations.service';
import { ConversationDto, CreateConversationDto, PageArgs, UpdateConversationDto } from 'src/modules/conversations/dto/conversations.dto';

@ApiTags('conversations')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @Authenticated({ permission: Permission.ConversationWrite })
  @ApiCreatedResponse({ type: ConversationDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateConversationDto): Promise<ConversationDto> {
    return this.conversations.create(auth, dto);
  }

  @Get()
  @Authenticated({ permission: Permission.ConversationRead })
  @ApiOkResponse({ type: [ConversationDto], description: 'Your conversations in the workspace, most recently active first' })
  list(@Auth() auth: AuthContext, @Query() page: PageArgs): Promise<ConversationDto[]> {
    return this.conversations.list(auth, page);
  }

  @Get(':conversationId')
  @Authenticated({ permission: Permission.ConversationRead })
  @ApiOkResponse({ type: ConversationDto })
  get(@Auth() auth: AuthContext, @Param('conversationId', ParseUUIDPipe) id: string): Promise<ConversationDto> {
    return this.conversations.get(auth, id);
  }

  @Patch(':conversationId')
  @Authenticated({ permission: Permission.ConversationWrite })
  @ApiOkResponse({ type: ConversationDto })
  update(
    @Auth() auth: AuthContext,
    @Param('conversationId', ParseUUIDPipe) id: string,
    @Body() dto: UpdateConversationDto,
  ): Promise<ConversationDto> {
    return this.conversations.update(auth, id, dto);
  }

  @Delete(':conversationId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.ConversationWrite })
  @ApiNoContentResponse({ description: 'Deleted with its messages; an answer still being generated is stopped' })
  delete(@Auth() auth: AuthContext, @Param('conversationId', ParseUUIDPipe) id: string): Promise<void> {
    return this.conversations.delete(auth, id);
  }
}
