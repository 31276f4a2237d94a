import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { AuthContext } from 'src/common/auth/auth-context';
import { safeFetch } from 'src/common/http/safe-fetch';
import { AppConfig } from 'src/config/app-config';
import { DocumentScope, DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { HEAD_BYTES, IncomingUpload } from 'src/modules/rag/documents/multipart-upload';
import { RagDocument } from 'src/modules/rag/documents/rag-document.entity';
import { DocumentDto, IngestUrlDto } from 'src/modules/rag/dto/documents.dto';
import { detectFormat } from 'src/modules/rag/extraction';
import { IngestionJobs } from 'src/modules/rag/ingestion/ingestion.jobs';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { ObjectStore, VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

export const documentNotFound = () => new RagException(RagErrorCode.DocumentNotFound, 'Document not found');

/** Storage keys come from ids only; the client's file name never reaches a path. */
export const storageKeyOf = (workspaceId: string, knowledgeBaseId: string, documentId: string) =>
  `workspaces/${workspaceId}/kb/${knowledgeBaseId}/${documentId}`;

// Control and format characters (bidirectional overrides, zero-width marks) make a name display as something it is not.
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/gu;
const MAX_NAME_LENGTH = 255;
const URL_FETCH_TIMEOUT_MS = 60_000;
const URL_MAX_REDIRECTS = 5;
const MAX_SOURCE_URL_LENGTH = 2048;

export interface UploadOutcome {
  document: DocumentDto;
  /** The knowledge base already held these bytes: `document` is that one, and nothing new was stored. */
  duplicate: boolean;
}

@Injectable()
export class DocumentsService {
  private readonly logger = new Logger('Documents');

  constructor(
    private readonly config: AppConfig,
    private readonly knowledgeBases: KnowledgeBasesService,
    private readonly repository: DocumentsRepository,
    private readonly objects: ObjectStore,
    private readonly vectors: VectorStore,
    private readonly jobs: IngestionJobs,
  ) {}

  /**
   * Streams the file to storage (hashing it on the way), then records it and queues its
   * ingestion. The same bytes again in the same knowledge base give back the existing
   * document and keep no second copy.
   */
  async upload(auth: AuthContext, knowledgeBaseId: string, receive: (maxBytes: number) => Promise<IncomingUpload>): Promise<UploadOutcome> {
    // Checked before a byte of the body is read: a foreign or unknown knowledge base costs no upload.
    await this.knowledgeBases.require(auth, knowledgeBaseId);
    const maxBytes = this.config.ragIngestion.maxUploadBytes;
    const upload = await receive(maxBytes);
    return this.store(auth, knowledgeBaseId, upload, { name: displayName(upload.fileName), sourceUrl: null });
  }

  /**
   * Fetches the URL through the SSRF guard (public addresses only, unless the host is on
   * RAG_URL_ALLOWED_HOSTS; every redirect vetted; size and time capped), then stores and
   * queues it exactly like an upload, recording where it came from.
   */
  async ingestFromUrl(auth: AuthContext, knowledgeBaseId: string, request: IngestUrlDto): Promise<UploadOutcome> {
    await this.knowledgeBases.require(auth, knowledgeBaseId);
    const { maxUploadBytes, urlAllowedHosts } = this.config.ragIngestion;
    const fetched = await safeFetch(request.url, {
      maxBytes: maxUploadBytes,
      timeoutMs: URL_FETCH_TIMEOUT_MS,
      maxRedirects: URL_MAX_REDIRECTS,
      allowedHosts: urlAllowedHosts,
    });
    const pathName = lastPathSegment(fetched.finalUrl);
    const incoming: IncomingUpload = {
      fileName: pathName,
      contentType: fetched.contentType,
      head: fetched.body.subarray(0, HEAD_BYTES),
      body: Readable.from([fetched.body]),
    };
    const name = displayName(request.name ?? (pathName || new URL(fetched.finalUrl).hostname));
    return this.store(auth, knowledgeBaseId, incoming, { name, sourceUrl: fetched.finalUrl.slice(0, MAX_SOURCE_URL_LENGTH) });
  }

  private async store(
    auth: AuthContext,
    knowledgeBaseId: string,
    upload: IncomingUpload,
    origin: { name: string; sourceUrl: string | null },
  ): Promise<UploadOutcome> {
    const maxBytes = this.config.ragIngestion.maxUploadBytes;
    const scope: DocumentScope = { workspaceId: auth.workspaceId, knowledgeBaseId };
    const format = detectFormat({ fileName: upload.fileName, contentType: upload.contentType, head: upload.head });
    if (format === null) {
      upload.body.destroy();
      throw new RagException(
        RagErrorCode.UnsupportedFormat,
        'Unsupported file format; upload text, Markdown, HTML, PDF, DOCX, CSV or JSON',
      );
    }
    const id = randomUUID();
    const key = storageKeyOf(auth.workspaceId, knowledgeBaseId, id);
    const stored = await this.objects.put(key, upload.body, { maxBytes, contentType: upload.contentType ?? undefined });
    try {
      if (stored.sizeBytes === 0) throw new RagException(RagErrorCode.DocumentEmpty, 'The file is empty');
      const existing = await this.repository.findBySha256(scope, stored.sha256);
      if (existing) return await this.duplicateOf(existing, key);
      const document = await this.repository.insert(scope, {
        id,
        name: origin.name,
        format,
        contentType: upload.contentType?.slice(0, 255) ?? null,
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        storageKey: key,
        sourceUrl: origin.sourceUrl,
        createdBy: auth.userId,
      });
      // Lost a race with the same bytes uploaded at the same moment.
      if (!document) return await this.duplicateOf((await this.repository.findBySha256(scope, stored.sha256))!, key);
      await this.jobs.enqueue(auth.workspaceId, document.id, document.generation);
      return { document: DocumentDto.from(document), duplicate: false };
    } catch (error) {
      await this.objects.delete(key).catch(() => undefined);
      throw error;
    }
  }

  async list(auth: AuthContext, knowledgeBaseId: string): Promise<DocumentDto[]> {
    await this.knowledgeBases.require(auth, knowledgeBaseId);
    return (await this.repository.list({ workspaceId: auth.workspaceId, knowledgeBaseId })).map((document) => DocumentDto.from(document));
  }

  async get(auth: AuthContext, knowledgeBaseId: string, id: string): Promise<DocumentDto> {
    return DocumentDto.from(await this.require(auth, knowledgeBaseId, id));
  }

  /** Chunk rows go with the row; vectors and the file follow (a failure there is logged). */
  async delete(auth: AuthContext, knowledgeBaseId: string, id: string): Promise<void> {
    const document = await this.require(auth, knowledgeBaseId, id);
    const scope = { workspaceId: auth.workspaceId, knowledgeBaseId };
    if (!(await this.repository.delete(scope, id))) throw documentNotFound();
    await this.vectors
      .deleteDocument(scope, id)
      .catch((error: unknown) => this.logger.error(`Vectors of document ${id}: ${String(error)}`));
    await this.objects.delete(document.storageKey).catch((error: unknown) => this.logger.error(`File of document ${id}: ${String(error)}`));
  }

  /** Runs the pipeline again from the stored file, as a new generation (a running job of the old one stops). */
  async reingest(auth: AuthContext, knowledgeBaseId: string, id: string): Promise<DocumentDto> {
    await this.require(auth, knowledgeBaseId, id);
    const [restarted] = await this.repository.restart({ workspaceId: auth.workspaceId, knowledgeBaseId }, [id]);
    if (!restarted) throw documentNotFound();
    await this.jobs.enqueue(auth.workspaceId, id, restarted.generation);
    return this.get(auth, knowledgeBaseId, id);
  }

  private async require(auth: AuthContext, knowledgeBaseId: string, id: string): Promise<RagDocument> {
    await this.knowledgeBases.require(auth, knowledgeBaseId);
    const document = await this.repository.find({ workspaceId: auth.workspaceId, knowledgeBaseId }, id);
    if (!document) throw documentNotFound();
    return document;
  }

  private async duplicateOf(existing: RagDocument, newKey: string): Promise<UploadOutcome> {
    await this.objects.delete(newKey);
    return { document: DocumentDto.from(existing), duplicate: true };
  }
}

/** The client's name, made safe to show: no control or direction-override characters, bounded length. */
export function displayName(fileName: string): string {
  const cleaned = fileName.replace(UNPRINTABLE, '').trim().slice(0, MAX_NAME_LENGTH);
  return cleaned === '' ? 'untitled' : cleaned;
}

/** The decoded last segment of a URL's path (`guide.md` of `/docs/guide.md?x=1`), or '' for a bare host. */
function lastPathSegment(url: string): string {
  const segment = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
