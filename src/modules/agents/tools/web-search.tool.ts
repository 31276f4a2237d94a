import { compile } from 'html-to-text';
import { z } from 'zod';
import { safeFetch, SafeFetchOptions, UrlFetchException } from 'src/common/http/safe-fetch';
import type { AgentTool, AgentToolContext, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import { AgentToolErrorCode, AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';
import { jsonContent, truncateText } from 'src/modules/agents/tools/tool-output';
import type { WebSearchHit, WebSearchProvider } from 'src/modules/agents/tools/web-search.provider';

export const MAX_WEB_RESULTS = 10;
export const MAX_FETCHED_PAGES = 3;
const MAX_TITLE_CHARS = 200;
const MAX_SNIPPET_CHARS = 500;
const MAX_URL_CHARS = 2_048;
const MAX_PAGE_TEXT_CHARS = 3_000;
const MAX_PAGE_BYTES = 1024 * 1024;
const PAGE_MAX_REDIRECTS = 3;
const DEFAULT_PAGE_TIMEOUT_MS = 10_000;

const argsSchema = z.strictObject({
  query: z.string().trim().min(1).max(500).describe('What to search the web for'),
  limit: z.int().min(1).max(MAX_WEB_RESULTS).default(5).describe('How many results to return'),
  fetch_pages: z
    .int()
    .min(0)
    .max(MAX_FETCHED_PAGES)
    .default(0)
    .describe('Also fetch the text of this many top results (0 for snippets only)'),
  language: z
    .string()
    .regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language code such as en or de-CH')
    .optional()
    .describe('Language of the results, e.g. en or de-CH'),
  time_range: z.enum(['day', 'week', 'month', 'year']).optional().describe('Only results from this recent period'),
});

export type WebSearchArgs = z.infer<typeof argsSchema>;

/** Text a reader sees: no markup, scripts, styles, images or link targets. */
const pageToText = compile({
  wordwrap: false,
  selectors: [
    ...[
      'script',
      'style',
      'noscript',
      'template',
      'iframe',
      'object',
      'embed',
      'svg',
      'canvas',
      'img',
      'video',
      'audio',
      'nav',
      'footer',
    ].map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
  ],
  // The walk is recursive: a page nested deeper than this loses its innermost content, not the process.
  limits: { maxDepth: 256, ellipsis: '…', maxInputLength: MAX_PAGE_BYTES },
});

export interface WebSearchToolOptions {
  /** Deadline of each page fetch. */
  pageTimeoutMs?: number;
  /**
   * Passed to the SSRF-safe fetch of result pages. Production leaves it empty: pages may only
   * be public addresses, whatever the search provider's own allowance. Tests map names here.
   */
  pageFetch?: Partial<SafeFetchOptions>;
}

type FetchedPage = { n: number; url: string; text: string } | { n: number; url: string; error: string };

/**
 * Web search through the admin-configured provider; off (not offered, not run) without one.
 * Result pages are fetched only when asked, through the same SSRF guard as RAG URL ingestion,
 * and never with the provider's private-address allowance: a search result pointing at an
 * intranet or cloud-metadata address is reported, not fetched.
 */
export class WebSearchTool implements AgentTool<WebSearchArgs> {
  readonly name = 'web_search' as const;
  readonly description =
    'Searches the web and returns titles, URLs and snippets of the top results; set fetch_pages to also read the text of the top pages.';
  readonly argsSchema = argsSchema;
  private readonly pageFetch: SafeFetchOptions;

  constructor(
    private readonly provider: WebSearchProvider | null,
    options: WebSearchToolOptions = {},
  ) {
    this.pageFetch = {
      maxBytes: MAX_PAGE_BYTES,
      timeoutMs: options.pageTimeoutMs ?? DEFAULT_PAGE_TIMEOUT_MS,
      maxRedirects: PAGE_MAX_REDIRECTS,
      allowedHosts: [],
      ...options.pageFetch,
    };
  }

  isAvailable(): boolean {
    return this.provider !== null;
  }

  async run(args: WebSearchArgs, context: AgentToolContext): Promise<AgentToolResult> {
    if (!this.provider) throw new AgentToolException(AgentToolErrorCode.Unavailable, 'Web search is not configured on this server');
    const hits = await untilAborted(
      this.provider.search({ query: args.query, limit: args.limit, language: args.language, timeRange: args.time_range }),
      context.signal,
    );
    const results = hits.slice(0, args.limit).map((hit, index) => boundedHit(hit, index + 1));
    const pages = await untilAborted(
      Promise.all(results.slice(0, args.fetch_pages).map((result) => this.fetchPage(result.n, result.url))),
      context.signal,
    );
    const body = { query: args.query, results, ...(args.fetch_pages > 0 ? { pages } : {}) };
    return { content: jsonContent(body), data: body };
  }

  private async fetchPage(n: number, url: string): Promise<FetchedPage> {
    try {
      const page = await safeFetch(url, this.pageFetch);
      const type = (page.contentType ?? '').split(';')[0].trim().toLowerCase();
      const raw = new TextDecoder('utf-8').decode(page.body);
      let text: string;
      if (type === 'text/html' || type === 'application/xhtml+xml') text = pageToText(raw);
      else if (type.startsWith('text/') || type === 'application/json') text = raw;
      else return { n, url, error: `Not fetched: ${type || 'unknown'} content is not text` };
      return { n, url, text: truncateText(normalizeWhitespace(text), MAX_PAGE_TEXT_CHARS) };
    } catch (error) {
      if (error instanceof UrlFetchException) return { n, url, error: `Not fetched (${error.code}): ${error.message}` };
      throw error;
    }
  }
}

function boundedHit(hit: WebSearchHit, n: number) {
  return {
    n,
    title: truncateText(hit.title, MAX_TITLE_CHARS),
    url: hit.url.slice(0, MAX_URL_CHARS),
    snippet: truncateText(normalizeWhitespace(hit.snippet), MAX_SNIPPET_CHARS),
    ...(hit.publishedAt ? { publishedAt: hit.publishedAt.slice(0, 40) } : {}),
  };
}

function normalizeWhitespace(text: string): string {
  return text
    .replace(/[ \t\f\v\r]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

/** Stops waiting when the run is cancelled; the fetch itself ends at its own deadline. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const cancelled = () => new AgentToolException(AgentToolErrorCode.Failed, 'The web search was cancelled');
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
