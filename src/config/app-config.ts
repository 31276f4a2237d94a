import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { normalizeHostPort } from 'src/common/http/safe-fetch';
import { ALL_ROLES, GremlinsRole } from 'src/config/roles';

/** Minimum length of an explicit JWT secret; shorter ones are guessable offline. */
export const MIN_JWT_SECRET_LENGTH = 32;
const WEAK_SECRETS = new Set(['secret', 'changeme', 'change-me', 'jwt-secret', 'gremlins', 'password']);

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || protocols.some((protocol) => value.startsWith(`${protocol}://`)), {
      message: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * The whole environment contract of the process. Everything the app reads from the
 * environment is declared here, validated once at boot and injected as `AppConfig`.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  /** Buffer cache of the embedded database (ignored with DATABASE_URL). */
  EMBEDDED_DB_SHARED_BUFFERS: z
    .string()
    .regex(/^\d+(kB|MB|GB)$/, 'a size such as 32MB')
    .default('16MB'),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  /** Prepended to every key this app writes to Redis, so several deployments (or test runs) can share one server. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only (at most 64)')
    .default('gremlins:'),
  NATS_URL: optionalUrl(['nats', 'tls']),
  JWT_SECRET: z.string().optional(),
  GREMLINS_ROLES: z
    .string()
    .default('all')
    .transform((raw, ctx) => {
      const names = raw
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      if (names.length === 0 || names.includes('all')) return [...ALL_ROLES];
      const unknown = names.filter((name) => !ALL_ROLES.includes(name as GremlinsRole));
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown role(s) ${unknown.join(', ')}; known: all, ${ALL_ROLES.join(', ')}` });
        return z.NEVER;
      }
      return [...new Set(names)] as GremlinsRole[];
    }),
  /** Which transport carries cross-role calls when roles run in separate processes. */
  GREMLINS_TRANSPORT: z.enum(['auto', 'in-process', 'nats', 'redis']).default('auto'),
  /** First token of every NATS subject / Redis channel the role transport uses, so deployments (or test runs) sharing a broker stay apart. */
  TRANSPORT_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (at most 64)')
    .default('gremlins'),
  /** How long a cross-role call waits for an answer before failing with ROLE_TIMEOUT. */
  ROLE_CALL_TIMEOUT_MS: positiveInt(10_000),
  /** Expired or revoked sessions and API keys are deleted this many days after they ended. */
  CREDENTIAL_RETENTION_DAYS: positiveInt(30),
  AUDIT_RETENTION_DAYS: positiveInt(365),
  MAINTENANCE_INTERVAL_MINUTES: positiveInt(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Append JSON logs to this file instead of stdout (bare-metal installs; containers keep stdout). */
  LOG_FILE: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
  REFRESH_TOKEN_TTL_DAYS: positiveInt(30),
  BODY_LIMIT_BYTES: positiveInt(1024 * 1024),
  RATE_LIMIT_ANONYMOUS_PER_HOUR: positiveInt(1000),
  RATE_LIMIT_AUTHENTICATED_PER_HOUR: positiveInt(5000),
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  PUBLIC_URL: optionalUrl(['http', 'https']),
  OIDC_ISSUER_URL: optionalUrl(['http', 'https']),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_SCOPES: z.string().default('openid email profile'),
  OIDC_PROVIDER_NAME: z.string().default('oidc'),
  /** Where the browser lands after an OIDC login; tokens travel in the URL fragment. */
  OIDC_POST_LOGIN_REDIRECT_URL: optionalUrl(['http', 'https']),
  /** Allows an http:// issuer (a local test provider). Refused in production. */
  OIDC_ALLOW_INSECURE_HTTP: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),

  /** Ollama nodes, comma-separated base URLs. */
  OLLAMA_URLS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const urls = value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean);
      for (const url of urls) {
        if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) {
          ctx.addIssue({ code: 'custom', message: `"${url}" must be an http(s) base URL such as http://gpu-1:11434` });
          return z.NEVER;
        }
      }
      return urls;
    }),
  /** `host:port` of a headless Service whose A records are Ollama nodes; re-resolved periodically. */
  OLLAMA_DNS: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value), {
      message: 'must be host or host:port',
    }),
  OLLAMA_DNS_REFRESH_MS: positiveInt(15_000),
  OLLAMA_HEALTH_INTERVAL_MS: positiveInt(10_000),
  OLLAMA_PS_INTERVAL_MS: positiveInt(5_000),
  OLLAMA_PROBE_TIMEOUT_MS: positiveInt(3_000),
  /** Concurrent requests per node and model, like OLLAMA_NUM_PARALLEL on the node. */
  OLLAMA_NODE_MODEL_CONCURRENCY: positiveInt(1),
  ROUTER_QUEUE_MAX: z.coerce.number().int().min(0).default(100),
  ROUTER_QUEUE_TIMEOUT_MS: positiveInt(30_000),
  ROUTER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  ROUTER_FIRST_TOKEN_TIMEOUT_MS: positiveInt(60_000),
  ROUTER_CIRCUIT_FAILURE_THRESHOLD: positiveInt(3),
  ROUTER_CIRCUIT_OPEN_MS: positiveInt(30_000),
  /** Longest an admin load, unload or non-streamed pull waits for the node. */
  OLLAMA_ADMIN_TIMEOUT_MS: positiveInt(600_000),
  /** Registries an admin may pull host-qualified names from (`hf.co/org/repo:tag`); bare names use Ollama's own. */
  OLLAMA_PULL_REGISTRIES: z
    .string()
    .default('registry.ollama.ai,hf.co,huggingface.co')
    .transform((value) =>
      value
        .split(',')
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine((hosts) => hosts.every((host) => /^[a-z0-9.-]+(:\d{1,5})?$/.test(host)), { message: 'must be host or host:port names' }),
  /**
   * Where a tier or `auto` request goes when its tier has no servable model, e.g.
   * `powerful=balanced,fast;balanced=fast`. Concrete model names never fall back.
   */
  ROUTER_TIER_FALLBACK: z
    .string()
    .default('powerful=balanced,fast;balanced=fast')
    .transform((raw, ctx) => {
      type Tier = 'fast' | 'balanced' | 'powerful';
      const tiers: readonly string[] = ['fast', 'balanced', 'powerful'];
      const chains: Partial<Record<Tier, Tier[]>> = {};
      for (const entry of raw
        .split(';')
        .map((part) => part.trim())
        .filter(Boolean)) {
        const [from, to = ''] = entry.split('=').map((part) => part.trim());
        const targets = to
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean);
        const bad = [from, ...targets].filter((tier) => !tiers.includes(tier));
        if (bad.length > 0 || targets.includes(from)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}": tiers are fast, balanced, powerful and may not fall back to themselves` });
          return z.NEVER;
        }
        chains[from as Tier] = [...new Set(targets)] as Tier[];
      }
      return chains;
    }),
  /** Complexity score (0..1) at or above which `auto` picks balanced / powerful. */
  ROUTER_AUTO_BALANCED_THRESHOLD: z.coerce.number().min(0).max(1).default(0.3),
  ROUTER_AUTO_POWERFUL_THRESHOLD: z.coerce.number().min(0).max(1).default(0.6),
  /** Largest prompt accepted, in characters of message text over the whole request. */
  CHAT_MAX_PROMPT_CHARS: positiveInt(400_000),
  /** Most messages in one chat request. */
  CHAT_MAX_MESSAGES: positiveInt(1_000),
  /** Earlier messages of a conversation sent to the model with a new one (newest kept; the system prompt comes on top). */
  CONVERSATION_MAX_CONTEXT_MESSAGES: positiveInt(40),
  /**
   * An assistant message still `streaming` this long after it started belongs to a process
   * that died mid-answer; it is marked incomplete (GENERATION_LOST).
   */
  CONVERSATION_STALE_STREAM_MINUTES: positiveInt(120),
  /** Largest `max_tokens` a caller may ask for. */
  CHAT_MAX_COMPLETION_TOKENS: positiveInt(32_768),
  /** Exact response cache for deterministic requests (temperature 0 or a seed); 0 turns it off. */
  ROUTER_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(3_600),
  /** Answers larger than this are not cached. */
  ROUTER_CACHE_MAX_ENTRY_BYTES: positiveInt(262_144),
  /**
   * Completion tokens held against a token quota for a request that sets no max_tokens; the
   * answer is capped there, so replicas together can never spend past the quota.
   */
  QUOTA_COMPLETION_RESERVE_TOKENS: positiveInt(2_048),
  /** A GGUF file served in-process by node-llama-cpp (the `llama-cpp` provider); unset disables it. */
  LLAMA_MODEL_PATH: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || (value.toLowerCase().endsWith('.gguf') && existsSync(value) && statSync(value).isFile()), {
      message: 'must be the path of an existing .gguf file',
    }),
  /** CPU threads for llama.cpp; more than the cores you can spare slows everything down. */
  LLAMA_THREADS: positiveInt(1),
  /** Context window in tokens; unset uses the model's own (capped by available memory). */
  LLAMA_CONTEXT_SIZE: z.coerce.number().int().positive().optional(),
  /** Requests generated at once by the in-process model; more share the same context memory. */
  LLAMA_MAX_SEQUENCES: positiveInt(1),

  /** Largest file a knowledge-base upload accepts; past it the upload is refused with 413 and nothing is kept. */
  RAG_MAX_UPLOAD_BYTES: positiveInt(50 * 1024 * 1024),
  /** Documents this process ingests at once (per replica of the `rag` role). */
  RAG_INGEST_CONCURRENCY: positiveInt(1),
  /**
   * Exact host:port pairs whose private addresses URL ingestion may reach: intranet sources
   * you trust. Every other host must resolve to public addresses only (SSRF guard).
   */
  RAG_URL_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const hosts: string[] = [];
      for (const entry of value
        .split(',')
        .map((host) => host.trim())
        .filter(Boolean)) {
        const normalized = normalizeHostPort(entry);
        if (normalized === null) ctx.addIssue({ code: 'custom', message: `"${entry}" must be host:port, such as wiki.intranet:8080` });
        else hosts.push(normalized);
      }
      return hosts;
    }),
  /** Texts per embedding call (bundled encoder and router models alike). */
  RAG_EMBED_BATCH_SIZE: z.coerce.number().int().min(1).max(2048).default(32),
  /** Where knowledge-base vectors live: pgvector (a PostgreSQL or PGlite with the extension) or Qdrant. */
  VECTOR_STORE: z.enum(['pgvector', 'qdrant']).default('pgvector'),
  /**
   * The pgvector database when it is not the app's own: a PostgreSQL URL, or `embedded` for a
   * PGlite in DATA_DIR/vectors (for a DATABASE_URL server without the extension).
   */
  PGVECTOR_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || value === 'embedded' || /^postgres(ql)?:\/\//.test(value), {
      message: 'must be a URL starting with postgres:// or postgresql://, or the word embedded',
    }),
  /** HNSW candidates examined per search (pgvector `hnsw.ef_search`); higher is better recall, slower. */
  PGVECTOR_EF_SEARCH: z.coerce.number().int().min(1).max(1000).default(100),
  QDRANT_URL: optionalUrl(['http', 'https']),
  QDRANT_API_KEY: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  /** Collections are named `<prefix>_<dimension>`, so deployments (or test runs) can share a Qdrant. */
  QDRANT_COLLECTION_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (at most 64)')
    .default('gremlins_rag'),
  /** Where uploaded knowledge-base files live: a folder under DATA_DIR, or an S3-compatible bucket. */
  OBJECT_STORE: z.enum(['local', 's3']).default('local'),
  /** An S3-compatible server (MinIO, Ceph, R2, ...); unset for AWS S3 itself. */
  S3_ENDPOINT: optionalUrl(['http', 'https']),
  S3_REGION: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a region name such as eu-west-1')
    .default('us-east-1'),
  S3_BUCKET: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value), {
      message: 'a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
    }),
  /** Both or neither; neither uses the SDK's default chain (AWS_* variables, instance or pod role). */
  S3_ACCESS_KEY_ID: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  S3_SECRET_ACCESS_KEY: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  /** Bucket in the path (`endpoint/bucket/key`) rather than the host name; default true with S3_ENDPOINT, false without. */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0']).optional(),
  /** Prepended to every key (`<prefix>/workspaces/...`), so deployments can share a bucket. */
  S3_PREFIX: z
    .string()
    .default('')
    .transform((value) => value.trim().replace(/^\/+|\/+$/g, ''))
    .refine((value) => value === '' || (value.length <= 200 && /^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/.test(value)), {
      message: 'path segments of letters, digits, _ and - separated by /, at most 200 characters (e.g. gremlins/prod)',
    }),

  /** Jobs of the agents queue (run planning, tasks, aggregation) this process works on at once. */
  AGENTS_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Runs of one workspace that plan or execute at once; more wait in priority order. */
  AGENTS_MAX_CONCURRENT_RUNS_PER_WORKSPACE: z.coerce.number().int().min(1).max(1000).default(4),
  /** Server maxima of a run's limits (also its defaults): model and tool steps, tool calls, tokens, wall time. */
  AGENTS_MAX_STEPS: z.coerce.number().int().min(1).max(10_000).default(40),
  AGENTS_MAX_TOOL_CALLS: z.coerce.number().int().min(0).max(10_000).default(20),
  AGENTS_MAX_TOKEN_BUDGET: z.coerce.number().int().min(100).default(200_000),
  AGENTS_MAX_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(600_000),
  /** Most tasks a planner may make for one run (the aggregation task comes on top). */
  AGENTS_MAX_PLAN_TASKS: z.coerce.number().int().min(1).max(50).default(6),
  /**
   * How long a job whose worker died stays locked before another worker retries it (BullMQ
   * lock duration and stalled-job check interval).
   */
  AGENTS_JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** A run that has made no progress for this long has its jobs checked and, if they are gone, re-queued or failed. */
  AGENTS_STALE_RUN_MS: z.coerce.number().int().min(1_000).default(300_000),
  AGENTS_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  /** The `web_search` agent tool: `none` (default: the tool is not offered) or `searxng`. */
  AGENTS_WEB_SEARCH_PROVIDER: z.enum(['none', 'searxng']).default('none'),
  /** The SearXNG instance (JSON output enabled); the tools may reach it even on a private address. */
  AGENTS_WEB_SEARCH_URL: optionalUrl(['http', 'https']),
  /** Deadline of one search request, and of each result page `web_search` fetches. */
  AGENTS_WEB_SEARCH_TIMEOUT_MS: positiveInt(10_000),
});

export type RawEnv = z.input<typeof envSchema>;
type ParsedEnv = z.output<typeof envSchema>;

export class ConfigValidationError extends Error {
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** pgvector's `url`: a PostgreSQL URL, `embedded`, or unset for the app's own database. */
export type VectorStoreConfig =
  { kind: 'pgvector'; url?: string; efSearch: number } | { kind: 'qdrant'; url: string; apiKey?: string; collectionPrefix: string };

/** Uploaded files: `DATA_DIR/objects`, or an S3-compatible bucket (credentials unset: the SDK's default chain). */
export type ObjectStoreConfig =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      prefix: string;
    };

export interface OidcConfig {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  scopes: string;
  providerName: string;
  postLoginRedirectUrl?: string;
  /** Never true in production: loadConfig refuses it there. */
  allowInsecureHttp: boolean;
}

/** Workflow runs: worker concurrency, per-workspace admission and the maxima of a run's limits. */
export interface AgentsConfig {
  workerConcurrency: number;
  maxConcurrentRunsPerWorkspace: number;
  maxLimits: { maxSteps: number; maxToolCalls: number; tokenBudget: number; timeoutMs: number };
  maxPlanTasks: number;
  jobLockMs: number;
  staleRunMs: number;
  sweepIntervalMs: number;
}

/** The web search provider of the `web_search` agent tool; null when none is configured. */
export interface WebSearchConfig {
  provider: 'searxng';
  url: string;
  timeoutMs: number;
}

/** The typed configuration every provider receives by injecting `AppConfig`. */
export interface RouterConfig {
  ollamaUrls: string[];
  ollamaDns?: string;
  dnsRefreshMs: number;
  healthIntervalMs: number;
  psIntervalMs: number;
  probeTimeoutMs: number;
  modelConcurrency: number;
  queueMax: number;
  queueTimeoutMs: number;
  maxAttempts: number;
  firstTokenTimeoutMs: number;
  circuit: { failureThreshold: number; openMs: number };
  adminTimeoutMs: number;
  pullRegistries: string[];
  tierFallback: Partial<Record<'fast' | 'balanced' | 'powerful', ('fast' | 'balanced' | 'powerful')[]>>;
  autoThresholds: { balanced: number; powerful: number };
  maxPromptChars: number;
  maxMessages: number;
  maxCompletionTokens: number;
  cacheTtlSeconds: number;
  cacheMaxEntryBytes: number;
  quotaCompletionReserveTokens: number;
}

/** The in-process llama.cpp model, present only when LLAMA_MODEL_PATH is set. */
export interface LlamaCppConfig {
  modelPath: string;
  threads: number;
  contextSize?: number;
  maxSequences: number;
}

export class AppConfig {
  readonly nodeEnv: ParsedEnv['NODE_ENV'];
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly embeddedDbSharedBuffers: string;
  readonly redisUrl?: string;
  readonly redisKeyPrefix: string;
  readonly natsUrl?: string;
  readonly jwtSecret: string;
  readonly roles: readonly GremlinsRole[];
  readonly transport: 'in-process' | 'nats' | 'redis';
  readonly transportNamespace: string;
  readonly roleCallTimeoutMs: number;
  readonly maintenance: { intervalMs: number; credentialRetentionDays: number; auditRetentionDays: number };
  readonly logLevel: ParsedEnv['LOG_LEVEL'];
  readonly logFile?: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlDays: number;
  readonly bodyLimitBytes: number;
  readonly rateLimits: { anonymousPerHour: number; authenticatedPerHour: number };
  readonly trustProxy: boolean;
  readonly publicUrl: string;
  readonly oidc?: OidcConfig;
  readonly router: RouterConfig;
  readonly conversations: { maxContextMessages: number; staleStreamMs: number };
  readonly llamaCpp?: LlamaCppConfig;
  readonly ragIngestion: { maxUploadBytes: number; concurrency: number; urlAllowedHosts: readonly string[] };
  readonly embeddings: { batchSize: number };
  readonly vectorStore: VectorStoreConfig;
  readonly objectStore: ObjectStoreConfig;
  readonly agents: AgentsConfig;
  readonly agentTools: { webSearch: WebSearchConfig | null };

  constructor(env: ParsedEnv, jwtSecret: string) {
    this.nodeEnv = env.NODE_ENV;
    this.port = env.PORT;
    this.host = env.HOST;
    this.dataDir = resolve(env.DATA_DIR);
    this.databaseUrl = env.DATABASE_URL;
    this.embeddedDbSharedBuffers = env.EMBEDDED_DB_SHARED_BUFFERS;
    this.redisUrl = env.REDIS_URL;
    this.redisKeyPrefix = env.REDIS_KEY_PREFIX;
    this.natsUrl = env.NATS_URL;
    this.jwtSecret = jwtSecret;
    this.roles = env.GREMLINS_ROLES;
    this.transport = resolveTransport(env);
    this.transportNamespace = env.TRANSPORT_NAMESPACE;
    this.roleCallTimeoutMs = env.ROLE_CALL_TIMEOUT_MS;
    this.maintenance = {
      intervalMs: env.MAINTENANCE_INTERVAL_MINUTES * 60_000,
      credentialRetentionDays: env.CREDENTIAL_RETENTION_DAYS,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    };
    this.logLevel = env.LOG_LEVEL;
    this.logFile = env.LOG_FILE === undefined ? undefined : resolve(env.LOG_FILE);
    this.accessTokenTtlSeconds = env.ACCESS_TOKEN_TTL_SECONDS;
    this.refreshTokenTtlDays = env.REFRESH_TOKEN_TTL_DAYS;
    this.bodyLimitBytes = env.BODY_LIMIT_BYTES;
    this.rateLimits = {
      anonymousPerHour: env.RATE_LIMIT_ANONYMOUS_PER_HOUR,
      authenticatedPerHour: env.RATE_LIMIT_AUTHENTICATED_PER_HOUR,
    };
    this.trustProxy = env.TRUST_PROXY;
    this.router = {
      ollamaUrls: env.OLLAMA_URLS,
      ollamaDns: env.OLLAMA_DNS,
      dnsRefreshMs: env.OLLAMA_DNS_REFRESH_MS,
      healthIntervalMs: env.OLLAMA_HEALTH_INTERVAL_MS,
      psIntervalMs: env.OLLAMA_PS_INTERVAL_MS,
      probeTimeoutMs: env.OLLAMA_PROBE_TIMEOUT_MS,
      modelConcurrency: env.OLLAMA_NODE_MODEL_CONCURRENCY,
      queueMax: env.ROUTER_QUEUE_MAX,
      queueTimeoutMs: env.ROUTER_QUEUE_TIMEOUT_MS,
      maxAttempts: env.ROUTER_MAX_ATTEMPTS,
      firstTokenTimeoutMs: env.ROUTER_FIRST_TOKEN_TIMEOUT_MS,
      circuit: { failureThreshold: env.ROUTER_CIRCUIT_FAILURE_THRESHOLD, openMs: env.ROUTER_CIRCUIT_OPEN_MS },
      adminTimeoutMs: env.OLLAMA_ADMIN_TIMEOUT_MS,
      pullRegistries: env.OLLAMA_PULL_REGISTRIES,
      tierFallback: env.ROUTER_TIER_FALLBACK,
      autoThresholds: { balanced: env.ROUTER_AUTO_BALANCED_THRESHOLD, powerful: env.ROUTER_AUTO_POWERFUL_THRESHOLD },
      maxPromptChars: env.CHAT_MAX_PROMPT_CHARS,
      maxMessages: env.CHAT_MAX_MESSAGES,
      maxCompletionTokens: env.CHAT_MAX_COMPLETION_TOKENS,
      cacheTtlSeconds: env.ROUTER_CACHE_TTL_SECONDS,
      cacheMaxEntryBytes: env.ROUTER_CACHE_MAX_ENTRY_BYTES,
      quotaCompletionReserveTokens: env.QUOTA_COMPLETION_RESERVE_TOKENS,
    };
    this.conversations = {
      maxContextMessages: env.CONVERSATION_MAX_CONTEXT_MESSAGES,
      staleStreamMs: env.CONVERSATION_STALE_STREAM_MINUTES * 60_000,
    };
    this.ragIngestion = {
      maxUploadBytes: env.RAG_MAX_UPLOAD_BYTES,
      concurrency: env.RAG_INGEST_CONCURRENCY,
      urlAllowedHosts: env.RAG_URL_ALLOWED_HOSTS,
    };
    this.embeddings = { batchSize: env.RAG_EMBED_BATCH_SIZE };
    this.agents = {
      workerConcurrency: env.AGENTS_WORKER_CONCURRENCY,
      maxConcurrentRunsPerWorkspace: env.AGENTS_MAX_CONCURRENT_RUNS_PER_WORKSPACE,
      maxLimits: {
        maxSteps: env.AGENTS_MAX_STEPS,
        maxToolCalls: env.AGENTS_MAX_TOOL_CALLS,
        tokenBudget: env.AGENTS_MAX_TOKEN_BUDGET,
        timeoutMs: env.AGENTS_MAX_TIMEOUT_MS,
      },
      maxPlanTasks: env.AGENTS_MAX_PLAN_TASKS,
      jobLockMs: env.AGENTS_JOB_LOCK_MS,
      staleRunMs: env.AGENTS_STALE_RUN_MS,
      sweepIntervalMs: env.AGENTS_SWEEP_INTERVAL_MS,
    };
    this.agentTools = {
      webSearch:
        env.AGENTS_WEB_SEARCH_PROVIDER === 'searxng' && env.AGENTS_WEB_SEARCH_URL
          ? { provider: 'searxng', url: env.AGENTS_WEB_SEARCH_URL, timeoutMs: env.AGENTS_WEB_SEARCH_TIMEOUT_MS }
          : null,
    };
    this.vectorStore =
      env.VECTOR_STORE === 'qdrant'
        ? { kind: 'qdrant', url: env.QDRANT_URL!, apiKey: env.QDRANT_API_KEY, collectionPrefix: env.QDRANT_COLLECTION_PREFIX }
        : { kind: 'pgvector', url: env.PGVECTOR_URL, efSearch: env.PGVECTOR_EF_SEARCH };
    this.objectStore =
      env.OBJECT_STORE === 's3'
        ? {
            kind: 's3',
            bucket: env.S3_BUCKET!,
            region: env.S3_REGION,
            endpoint: env.S3_ENDPOINT,
            forcePathStyle:
              env.S3_FORCE_PATH_STYLE === undefined ? env.S3_ENDPOINT !== undefined : ['true', '1'].includes(env.S3_FORCE_PATH_STYLE),
            credentials:
              env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
                ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
                : undefined,
            prefix: env.S3_PREFIX,
          }
        : { kind: 'local', root: join(this.dataDir, 'objects') };
    if (env.LLAMA_MODEL_PATH) {
      this.llamaCpp = {
        modelPath: env.LLAMA_MODEL_PATH,
        threads: env.LLAMA_THREADS,
        contextSize: env.LLAMA_CONTEXT_SIZE,
        maxSequences: env.LLAMA_MAX_SEQUENCES,
      };
    }
    this.publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
    if (env.OIDC_ISSUER_URL && env.OIDC_CLIENT_ID) {
      this.oidc = {
        issuerUrl: env.OIDC_ISSUER_URL,
        clientId: env.OIDC_CLIENT_ID,
        clientSecret: env.OIDC_CLIENT_SECRET,
        scopes: env.OIDC_SCOPES,
        providerName: env.OIDC_PROVIDER_NAME,
        postLoginRedirectUrl: env.OIDC_POST_LOGIN_REDIRECT_URL,
        allowInsecureHttp: env.OIDC_ALLOW_INSECURE_HTTP,
      };
    }
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }

  get isEmbeddedDatabase(): boolean {
    return this.databaseUrl === undefined;
  }

  hasRole(role: GremlinsRole): boolean {
    return this.roles.includes(role);
  }
}

function resolveTransport(env: ParsedEnv): AppConfig['transport'] {
  if (env.GREMLINS_TRANSPORT !== 'auto') return env.GREMLINS_TRANSPORT;
  if (env.NATS_URL) return 'nats';
  if (env.REDIS_URL) return 'redis';
  return 'in-process';
}

/**
 * Parses and checks the environment. Throws `ConfigValidationError` listing every bad
 * value at once, so an operator fixes them in one go rather than one restart each.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigValidationError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`));
  }
  const env = parsed.data;
  const issues: string[] = [];
  if (env.GREMLINS_TRANSPORT === 'nats' && !env.NATS_URL) issues.push('GREMLINS_TRANSPORT: nats needs NATS_URL');
  if (env.GREMLINS_TRANSPORT === 'redis' && !env.REDIS_URL) issues.push('GREMLINS_TRANSPORT: redis needs REDIS_URL');
  if (env.VECTOR_STORE === 'qdrant' && !env.QDRANT_URL) issues.push('VECTOR_STORE: qdrant needs QDRANT_URL (e.g. http://qdrant:6333)');
  if (env.OBJECT_STORE === 's3' && !env.S3_BUCKET) issues.push('OBJECT_STORE: s3 needs S3_BUCKET (the bucket uploaded files go to)');
  if (env.S3_ENDPOINT !== undefined) {
    const problem = s3EndpointProblem(env.S3_ENDPOINT);
    if (problem) issues.push(`S3_ENDPOINT: ${problem}`);
  }
  if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
    issues.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both, or neither to use the default AWS credential chain');
  }
  if (env.AGENTS_WEB_SEARCH_PROVIDER === 'searxng') {
    const problem = webSearchUrlProblem(env.AGENTS_WEB_SEARCH_URL);
    if (problem) issues.push(`AGENTS_WEB_SEARCH_URL: ${problem}`);
  }
  if (env.ROUTER_AUTO_BALANCED_THRESHOLD > env.ROUTER_AUTO_POWERFUL_THRESHOLD)
    issues.push('ROUTER_AUTO_BALANCED_THRESHOLD: must not be above ROUTER_AUTO_POWERFUL_THRESHOLD');
  if ((env.OIDC_ISSUER_URL === undefined) !== (env.OIDC_CLIENT_ID === undefined)) {
    issues.push('OIDC_ISSUER_URL and OIDC_CLIENT_ID: set both to enable OIDC login, or neither');
  }
  if (env.OIDC_ALLOW_INSECURE_HTTP && env.NODE_ENV === 'production') {
    issues.push('OIDC_ALLOW_INSECURE_HTTP: not allowed in production; the issuer must use https://');
  } else if (env.OIDC_ISSUER_URL?.startsWith('http://') && !env.OIDC_ALLOW_INSECURE_HTTP) {
    issues.push('OIDC_ISSUER_URL: must use https:// (OIDC_ALLOW_INSECURE_HTTP=true permits http:// outside production)');
  }
  if (env.OIDC_ISSUER_URL && !env.OIDC_SCOPES.split(/\s+/).includes('openid')) {
    issues.push('OIDC_SCOPES: must include openid');
  }
  const secretProblem = env.JWT_SECRET === undefined ? undefined : weakSecretReason(env.JWT_SECRET);
  if (env.NODE_ENV === 'production') {
    if (env.JWT_SECRET === undefined) {
      issues.push(`JWT_SECRET: required in production (at least ${MIN_JWT_SECRET_LENGTH} random characters)`);
    } else if (secretProblem) {
      issues.push(`JWT_SECRET: ${secretProblem}`);
    }
  } else if (secretProblem) {
    issues.push(`JWT_SECRET: ${secretProblem}`);
  }
  if (issues.length > 0) throw new ConfigValidationError(issues);

  const jwtSecret = env.JWT_SECRET ?? loadOrCreateDevelopmentSecret(resolve(env.DATA_DIR));
  return new AppConfig(env, jwtSecret);
}

/** Credentials belong in S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, where they are not logged with the URL. */
function s3EndpointProblem(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) return 'must not contain credentials; use S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY';
    if (parsed.search || parsed.hash || parsed.pathname !== '/')
      return 'must be a base URL such as http://minio:9000, without a path or query';
  } catch {
    return 'must be a valid URL such as http://minio:9000';
  }
  return undefined;
}

function webSearchUrlProblem(url: string | undefined): string | undefined {
  if (url === undefined) return 'AGENTS_WEB_SEARCH_PROVIDER=searxng needs the URL of the SearXNG instance (e.g. http://searxng:8080)';
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) return 'must not contain credentials';
    if (parsed.search || parsed.hash) return 'must be a base URL without a query or fragment';
  } catch {
    return 'must be a valid URL';
  }
  return undefined;
}

function weakSecretReason(secret: string): string | undefined {
  if (secret.length < MIN_JWT_SECRET_LENGTH) return `too short (${secret.length} characters, need at least ${MIN_JWT_SECRET_LENGTH})`;
  if (WEAK_SECRETS.has(secret.toLowerCase()) || new Set(secret).size < 8)
    return 'too predictable; use a random value (openssl rand -base64 48)';
  return undefined;
}

/** Outside production a random secret is generated once and kept in DATA_DIR (mode 0600). */
function loadOrCreateDevelopmentSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}
