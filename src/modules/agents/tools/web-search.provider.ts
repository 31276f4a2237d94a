import { z } from 'zod';
import { normalizeHostPort, safeFetch, SafeFetchOptions, UrlFetchException } from 'src/common/http/safe-fetch';
import type { WebSearchConfig } from 'src/config/app-config';
import { AgentToolErrorCode, AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';

export interface WebSearchQuery {
  query: string;
  limit: number;
  /** A language code such as `en` or `de-CH`; the provider's default when absent. */
  language?: string;
  timeRange?: 'day' | 'week' | 'month' | 'year';
}

export interface WebSearchHit {
  title: string;
  url: string;
  snippet: string;
  publishedAt?: string;
}

/**
 * A web search backend. Admins pick one by configuration (AGENTS_WEB_SEARCH_PROVIDER); each
 * implementation talks to its own service and returns plain hits, never fetched pages.
 */
export interface WebSearchProvider {
  readonly name: string;
  search(query: WebSearchQuery): Promise<WebSearchHit[]>;
}

/** A SearXNG answer is far smaller than this; anything bigger is not one. */
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
const MAX_REDIRECTS = 3;

const searxngResponse = z.object({
  results: z.array(
    z.looseObject({
      url: z.string(),
      title: z.string().nullish(),
      content: z.string().nullish(),
      publishedDate: z.string().nullish(),
    }),
  ),
});

/**
 * SearXNG's JSON API (`GET /search?q=...&format=json`; the instance must list `json` under
 * `search.formats`). The instance is configured by an admin and usually lives on the intranet,
 * so its own host:port is the one private address the request may reach; it still goes through
 * the SSRF-safe fetch (pinned addresses, vetted redirects, size and time caps).
 */
export class SearxngProvider implements WebSearchProvider {
  readonly name = 'searxng';
  private readonly endpoint: URL;
  private readonly fetchOptions: SafeFetchOptions;

  constructor(config: Pick<WebSearchConfig, 'url' | 'timeoutMs'>, fetchOptions: Partial<SafeFetchOptions> = {}) {
    const base = new URL(config.url.endsWith('/') ? config.url : `${config.url}/`);
    this.endpoint = new URL('search', base);
    const self = normalizeHostPort(base.port ? base.host : `${base.host}:${base.protocol === 'https:' ? 443 : 80}`);
    this.fetchOptions = {
      maxBytes: MAX_RESPONSE_BYTES,
      timeoutMs: config.timeoutMs,
      maxRedirects: MAX_REDIRECTS,
      allowedHosts: self ? [self] : [],
      ...fetchOptions,
    };
  }

  async search(query: WebSearchQuery): Promise<WebSearchHit[]> {
    const url = new URL(this.endpoint);
    url.searchParams.set('q', query.query);
    url.searchParams.set('format', 'json');
    url.searchParams.set('pageno', '1');
    if (query.language) url.searchParams.set('language', query.language);
    if (query.timeRange) url.searchParams.set('time_range', query.timeRange);

    let body: Buffer;
    try {
      body = (await safeFetch(url.href, this.fetchOptions)).body;
    } catch (error) {
      if (!(error instanceof UrlFetchException)) throw error;
      throw upstreamFailed(`The web search provider could not be reached: ${error.message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw upstreamFailed('The web search provider did not answer with JSON (SearXNG needs `json` in search.formats)');
    }
    const response = searxngResponse.safeParse(parsed);
    if (!response.success) throw upstreamFailed('The web search provider answered in an unexpected shape');
    const hits: WebSearchHit[] = [];
    for (const result of response.data.results) {
      if (!isWebUrl(result.url)) continue;
      hits.push({
        title: result.title ?? '',
        url: result.url,
        snippet: result.content ?? '',
        ...(result.publishedDate ? { publishedAt: result.publishedDate } : {}),
      });
      if (hits.length >= query.limit) break;
    }
    return hits;
  }
}

/** The configured provider, or null when web search is off (the default). */
export function createWebSearchProvider(config: WebSearchConfig | null): WebSearchProvider | null {
  if (!config) return null;
  switch (config.provider) {
    case 'searxng':
      return new SearxngProvider(config);
  }
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const upstreamFailed = (message: string) => new AgentToolException(AgentToolErrorCode.UpstreamFailed, message);
