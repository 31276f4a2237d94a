import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { PubSubService } from 'src/graphql/pubsub.service';
import { AuthorizedSubscription } from 'src/graphql/subscription-access.interceptor';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { DocumentsService } from 'src/modules/rag/documents/documents.service';
import { DocumentDto, DocumentProgressDto } from 'src/modules/rag/dto/documents.dto';
import { CreateKnowledgeBaseDto, KnowledgeBaseDto, UpdateKnowledgeBaseDto } from 'src/modules/rag/dto/knowledge-bases.dto';
import { SearchDto, SearchResponseDto } from 'src/modules/rag/dto/search.dto';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { SearchService } from 'src/modules/rag/search/search.service';

const idArg = (name: string) => Args(name, { type: () => ID }, ParseUUIDPipe);

/** Knowledge bases over GraphQL; uploads are REST only (multipart). */
@Resolver(() => KnowledgeBaseDto)
export class KnowledgeBasesResolver {
  constructor(
    private readonly service: KnowledgeBasesService,
    private readonly documents: DocumentsService,
    private readonly searches: SearchService,
    private readonly pubsub: PubSubService,
  ) {}

  @Query(() => [KnowledgeBaseDto])
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  knowledgeBases(@Auth() auth: AuthContext, @WorkspaceArg() _workspaceId?: string): Promise<KnowledgeBaseDto[]> {
    return this.service.list(auth);
  }

  @Query(() => KnowledgeBaseDto)
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  knowledgeBase(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<KnowledgeBaseDto> {
    return this.service.get(auth, id);
  }

  @Query(() => [DocumentDto], { description: 'Newest first, with their ingestion status and progress' })
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  knowledgeBaseDocuments(
    @Auth() auth: AuthContext,
    @idArg('knowledgeBaseId') knowledgeBaseId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<DocumentDto[]> {
    return this.documents.list(auth, knowledgeBaseId);
  }

  @Query(() => SearchResponseDto, { description: 'keyword (full-text), vector, or hybrid (both, fused by reciprocal rank)' })
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  searchKnowledgeBase(
    @Auth() auth: AuthContext,
    @idArg('knowledgeBaseId') knowledgeBaseId: string,
    @Args('input') input: SearchDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<SearchResponseDto> {
    return this.searches.search(auth, knowledgeBaseId, input);
  }

  @Mutation(() => KnowledgeBaseDto)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  createKnowledgeBase(
    @Auth() auth: AuthContext,
    @Args('input') input: CreateKnowledgeBaseDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<KnowledgeBaseDto> {
    return this.service.create(auth, input);
  }

  @Mutation(() => KnowledgeBaseDto, { description: 'A new embedder or new chunking queues every document for re-indexing' })
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  updateKnowledgeBase(
    @Auth() auth: AuthContext,
    @idArg('id') id: string,
    @Args('input') input: UpdateKnowledgeBaseDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<KnowledgeBaseDto> {
    return this.service.update(auth, id, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  async deleteKnowledgeBase(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<boolean> {
    await this.service.delete(auth, id);
    return true;
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  async deleteKnowledgeBaseDocument(
    @Auth() auth: AuthContext,
    @idArg('knowledgeBaseId') knowledgeBaseId: string,
    @idArg('documentId') documentId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<boolean> {
    await this.documents.delete(auth, knowledgeBaseId, documentId);
    return true;
  }

  @Mutation(() => DocumentDto, { description: 'Runs ingestion again from the stored file' })
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  reingestKnowledgeBaseDocument(
    @Auth() auth: AuthContext,
    @idArg('knowledgeBaseId') knowledgeBaseId: string,
    @idArg('documentId') documentId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<DocumentDto> {
    return this.documents.reingest(auth, knowledgeBaseId, documentId);
  }

  @AuthorizedSubscription(() => DocumentProgressDto, {
    description: "Each document's ingestion stage and percent in a knowledge base, whoever uploaded it",
    resolve: (progress: DocumentProgressDto) => progress,
  })
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  async documentProgress(
    @Auth() auth: AuthContext,
    @idArg('knowledgeBaseId') knowledgeBaseId: string,
    @WorkspaceArg() _workspaceId?: string,
  ) {
    await this.service.require(auth, knowledgeBaseId);
    return this.pubsub.subscribe('rag-document-progress', knowledgeBaseId);
  }
}
