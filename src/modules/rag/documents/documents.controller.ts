import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiAcceptedResponse,
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { MULTIPART_ROUTE } from 'src/common/http/multipart-routes';
import { DocumentsService } from 'src/modules/rag/documents/documents.service';
import { readUpload, UPLOAD_FIELD } from 'src/modules/rag/documents/multipart-upload';
import { DocumentDto, IngestUrlDto } from 'src/modules/rag/dto/documents.dto';

@ApiTags('knowledge-bases')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('knowledge-bases/:knowledgeBaseId/documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Post()
  @RouteConfig(MULTIPART_ROUTE)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: { type: 'object', required: [UPLOAD_FIELD], properties: { [UPLOAD_FIELD]: { type: 'string', format: 'binary' } } },
  })
  @ApiCreatedResponse({ type: DocumentDto, description: 'Stored and queued for ingestion' })
  @ApiOkResponse({ type: DocumentDto, description: 'The knowledge base already holds these bytes: the existing document' })
  async upload(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const { document, duplicate } = await this.documents.upload(auth, knowledgeBaseId, (maxBytes) => readUpload(request, maxBytes));
    void reply.status(duplicate ? 200 : 201);
    return document;
  }

  @Post('from-url')
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiCreatedResponse({ type: DocumentDto, description: 'Fetched, stored and queued for ingestion' })
  @ApiOkResponse({ type: DocumentDto, description: 'The knowledge base already holds these bytes: the existing document' })
  @ApiBadRequestResponse({ description: 'URL_NOT_ALLOWED: not http(s), has credentials, or reaches a non-public address' })
  @ApiPayloadTooLargeResponse({ description: 'URL_TOO_LARGE: larger than RAG_MAX_UPLOAD_BYTES' })
  @ApiBadGatewayResponse({ description: 'URL_FETCH_FAILED: unresolvable, unreachable, an error status or too many redirects' })
  @ApiGatewayTimeoutResponse({ description: 'URL_TIMEOUT' })
  async ingestFromUrl(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string,
    @Body() body: IngestUrlDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const { document, duplicate } = await this.documents.ingestFromUrl(auth, knowledgeBaseId, body);
    void reply.status(duplicate ? 200 : 201);
    return document;
  }

  @Get()
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOkResponse({ type: [DocumentDto], description: 'Newest first, with their ingestion status and progress' })
  list(@Auth() auth: AuthContext, @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string): Promise<DocumentDto[]> {
    return this.documents.list(auth, knowledgeBaseId);
  }

  @Get(':documentId')
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOkResponse({ type: DocumentDto })
  get(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string,
    @Param('documentId', ParseUUIDPipe) id: string,
  ): Promise<DocumentDto> {
    return this.documents.get(auth, knowledgeBaseId, id);
  }

  @Delete(':documentId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiNoContentResponse({ description: 'Deleted with its chunks, vectors and stored file' })
  delete(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string,
    @Param('documentId', ParseUUIDPipe) id: string,
  ): Promise<void> {
    return this.documents.delete(auth, knowledgeBaseId, id);
  }

  @Post(':documentId/reingest')
  @HttpCode(202)
  @Authenticated({ permission: Permission.KnowledgeBaseWrite })
  @ApiAcceptedResponse({ type: DocumentDto, description: 'Queued again from the stored file' })
  reingest(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) knowledgeBaseId: string,
    @Param('documentId', ParseUUIDPipe) id: string,
  ): Promise<DocumentDto> {
    return this.documents.reingest(auth, knowledgeBaseId, id);
  }
}
