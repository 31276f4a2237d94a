import { z } from 'zod';
import { AppException } from 'src/common/errors/app.exception';
import type { AgentTool, AgentToolContext, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import { knowledgeBasesFor } from 'src/modules/agents/tools/knowledge-scope';
import { jsonContent, MAX_TOOL_CONTENT_CHARS, truncateText } from 'src/modules/agents/tools/tool-output';
import { MAX_QUERY_CHARS, SEARCH_MODES, SearchMode, SearchResultDto } from 'src/modules/rag/dto/search.dto';
import { callerOf } from 'src/modules/agents/tools/knowledge-scope';
import { KnowledgeRetriever, MAX_SEARCH_DOCUMENT_IDS } from 'src/modules/rag/grounding';
import { RagErrorCode } from 'src/modules/rag/rag.exception';

export const MAX_DOCUMENT_SEARCH_RESULTS = 20;
const MAX_PASSAGE_CHARS = 1_500;
/** Errors after which a knowledge base is searched again by keywords only. */
const KEYWORD_FALLBACK_CODES = new Set<string>([RagErrorCode.EmbedderUnavailable]);
/** What the passages' text may take of the content, the rest being their citation fields. */
const PASSAGE_BUDGET_CHARS = MAX_TOOL_CONTENT_CHARS - 4_000;

const argsSchema = z.strictObject({
  query: z.string().trim().min(1).max(MAX_QUERY_CHARS).describe('Words or a question to find passages about'),
  knowledge_base_ids: z
    .array(z.uuid())
    .min(1)
    .max(20)
    .optional()
    .describe("Search only these of the run's knowledge bases (default: all of them)"),
  document_ids: z.array(z.uuid()).min(1).max(MAX_SEARCH_DOCUMENT_IDS).optional().describe('Search only these documents'),
  mode: z.enum(SEARCH_MODES).default('hybrid').describe('hybrid (default), keyword or vector'),
  limit: z.int().min(1).max(MAX_DOCUMENT_SEARCH_RESULTS).default(5).describe('How many passages to return'),
});

export type DocumentSearchArgs = z.infer<typeof argsSchema>;

export interface Passage {
  /** Rank in this answer, for citing as [n]. */
  n: number;
  knowledgeBaseId: string;
  documentId: string;
  documentName: string;
  /** 1-based page for formats with pages, else null. */
  page: number | null;
  headings: string[];
  /** Character offsets of the passage in the document's extracted text. */
  start: number;
  end: number;
  score: number;
  text: string;
}

/**
 * Searches the run's knowledge bases with the RAG search (hybrid by default) as the run's
 * user: the RAG role scopes every query by that user's workspace, and only knowledge bases
 * the run was given can be named. Passages come with what a citation needs.
 */
export class DocumentSearchTool implements AgentTool<DocumentSearchArgs> {
  readonly name = 'document_search' as const;
  readonly description =
    "Searches the documents in the run's knowledge bases and returns the most relevant passages with document name, page and offsets for citations.";
  readonly argsSchema = argsSchema;

  constructor(private readonly knowledge: KnowledgeRetriever) {}

  isAvailable(): boolean {
    return true;
  }

  async run(args: DocumentSearchArgs, context: AgentToolContext): Promise<AgentToolResult> {
    const knowledgeBaseIds = knowledgeBasesFor(context, args.knowledge_base_ids);
    const perBase = await Promise.all(knowledgeBaseIds.map((id) => this.searchOne(id, args, context)));
    const fallbacks = perBase.filter((outcome) => outcome.mode !== args.mode).map((outcome) => outcome.knowledgeBaseId);
    // Hybrid scores are reciprocal-rank fusions, so ranks from different bases interleave fairly.
    const hits = perBase
      .flatMap((outcome) => outcome.results.map((hit) => ({ ...hit, knowledgeBaseId: outcome.knowledgeBaseId })))
      .sort((a, b) => b.score - a.score)
      .slice(0, args.limit);
    const perPassage = Math.max(200, Math.min(MAX_PASSAGE_CHARS, Math.floor(PASSAGE_BUDGET_CHARS / Math.max(1, hits.length))));
    const passages: Passage[] = hits.map((hit, index) => ({
      n: index + 1,
      knowledgeBaseId: hit.knowledgeBaseId,
      documentId: hit.documentId,
      documentName: hit.documentName,
      page: hit.page,
      headings: hit.headings.slice(0, 6).map((heading) => truncateText(heading, 120)),
      start: hit.start,
      end: hit.end,
      score: Number(hit.score.toPrecision(6)),
      text: truncateText(hit.text, perPassage),
    }));
    const body = {
      query: args.query,
      mode: args.mode,
      ...(fallbacks.length > 0 ? { keywordFallback: fallbacks } : {}),
      passages,
    };
    return { content: jsonContent(body), data: body };
  }

  /**
   * A knowledge base whose embedder cannot answer now still has keyword search; the answer
   * says so instead of failing the whole call.
   */
  private async searchOne(
    knowledgeBaseId: string,
    args: DocumentSearchArgs,
    context: AgentToolContext,
  ): Promise<{ knowledgeBaseId: string; mode: SearchMode; results: SearchResultDto[] }> {
    const request = {
      caller: callerOf(context),
      knowledgeBaseId,
      query: args.query,
      mode: args.mode,
      limit: args.limit,
      ...(args.document_ids ? { documentIds: args.document_ids } : {}),
    };
    try {
      const { mode, results } = await this.knowledge.search(request);
      return { knowledgeBaseId, mode, results };
    } catch (error) {
      if (!(error instanceof AppException) || !KEYWORD_FALLBACK_CODES.has(error.code) || args.mode === 'keyword') throw error;
      const { results } = await this.knowledge.search({ ...request, mode: 'keyword' });
      return { knowledgeBaseId, mode: 'keyword', results };
    }
  }
}
