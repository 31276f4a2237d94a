import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CreateKnowledgeBaseDto, KnowledgeBaseDto, UpdateKnowledgeBaseDto } from 'src/modules/rag/dto/knowledge-bases.dto';
import { SearchDto, SearchResponseDto } from 'src/modules/rag/dto/search.dto';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { SearchService } from 'src/modules/rag/search/search.service';

@ApiTags('knowledge-bases')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('knowledge-bases')
export class KnowledgeBasesController {
  constructor(
    private readonly knowledgeBases: KnowledgeBasesService,
    private readonly searches: SearchService,
  ) {}

  @Post()
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiCreatedResponse({ type: KnowledgeBaseDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateKnowledgeBaseDto): Promise<KnowledgeBaseDto> {
    return this.knowledgeBases.create(auth, dto);
  }

  @Get()
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOkResponse({ type: [KnowledgeBaseDto] })
  list(@Auth() auth: AuthContext): Promise<KnowledgeBaseDto[]> {
    return this.knowledgeBases.list(auth);
  }

  @Get(':knowledgeBaseId')
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOkResponse({ type: KnowledgeBaseDto })
  get(@Auth() auth: AuthContext, @Param('knowledgeBaseId', ParseUUIDPipe) id: string): Promise<KnowledgeBaseDto> {
    return this.knowledgeBases.get(auth, id);
  }

  @Patch(':knowledgeBaseId')
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiOkResponse({ type: KnowledgeBaseDto, description: 'A new embedder or new chunking queues every document for re-indexing' })
  update(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) id: string,
    @Body() dto: UpdateKnowledgeBaseDto,
  ): Promise<KnowledgeBaseDto> {
    return this.knowledgeBases.update(auth, id, dto);
  }

  @Delete(':knowledgeBaseId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiNoContentResponse({ description: 'Deleted with its documents, chunks, vectors and stored files' })
  delete(@Auth() auth: AuthContext, @Param('knowledgeBaseId', ParseUUIDPipe) id: string): Promise<void> {
    return this.knowledgeBases.delete(auth, id);
  }

  @Post(':knowledgeBaseId/search')
  @HttpCode(200)
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOkResponse({ type: SearchResponseDto })
  search(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) id: string,
    @Body() dto: SearchDto,
  ): Promise<SearchResponseDto> {
    return this.searches.search(auth, id, dto);
  }
}
