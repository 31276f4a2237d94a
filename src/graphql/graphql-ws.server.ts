import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  DocumentNode,
  ExecutionArgs,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  ValidationRule,
} from 'graphql';
import type { Context, Disposable, SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AuthRequest } from 'src/common/auth/request-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { toErrorBody } from 'src/common/errors/error-body';
import { AppConfig } from 'src/config/app-config';
import { formatGraphQLError, GraphqlRequestErrorCode } from 'src/graphql/graphql-errors';
import { GRAPHQL_PATH } from 'src/graphql/graphql-options';
import { OPERATION_LIMITS, operationLimitRules } from 'src/graphql/operation-limits';
import { CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { extractCredential, requestedWorkspaceId } from 'src/modules/auth/credentials';

/** connectionParams keys that act as the request headers of every operation on the socket. */
const CONNECTION_HEADERS = ['authorization', 'x-api-key', 'x-workspace-id'];
/** WebSocket close reasons are limited to 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

type WsContext = Context<Record<string, unknown> | undefined, Extra & { headers?: AuthRequest['headers'] }>;

/**
 * GraphQL over WebSocket (the graphql-ws protocol) at /graphql, for subscriptions (and any
 * query or mutation a client prefers to send there). Owned here rather than left to the
 * Apollo driver so that the socket has a payload limit, the same operation limits and error
 * shape as HTTP, and an authenticated handshake: a connection without a valid credential in
 * its `connectionParams` is closed before it can subscribe to anything.
 */
@Injectable()
export class GraphqlWsServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('GraphQLWebSocket');
  private server?: Disposable;
  private detach?: () => void;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly credentials: CredentialResolver,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.config.bodyLimitBytes });
    const rules: ValidationRule[] = [
      ...specifiedRules,
      ...operationLimitRules,
      ...(this.config.isProduction ? [NoSchemaIntrospectionCustomRule] : []),
    ];
    this.server = useServer<Record<string, unknown> | undefined, { headers?: AuthRequest['headers'] }>(
      {
        isProd: this.config.isProduction,
        onConnect: (ctx) => this.admit(ctx),
        onSubscribe: (_ctx, _id, payload) => this.prepare(payload, rules),
        // A fresh request per operation: the rate limiter meters each operation, not each socket.
        context: (ctx) => ({ req: this.operationRequest(ctx) }),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((error) => formatWsError(error)) } : undefined,
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatWsError(error)),
      },
      wss,
    );

    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Other upgrades (Socket.IO under /realtime) belong to their own servers.
      if (new URL(request.url ?? '/', 'http://localhost').pathname !== GRAPHQL_PATH) return;
      wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
    };
    httpServer.on('upgrade', onUpgrade);
    this.detach = () => httpServer.off('upgrade', onUpgrade);
  }

  /** Before the database and Redis go away: clients get 1001 "Going away" and reconnect elsewhere. */
  async onModuleDestroy(): Promise<void> {
    this.detach?.();
    await this.server?.dispose();
  }

  private async admit(ctx: WsContext): Promise<boolean> {
    const headers = connectionHeaders(ctx.connectionParams);
    try {
      const credential = extractCredential(headers);
      if (!credential) {
        throw CommonErrors.unauthenticated(
          'Send connectionParams { authorization: "Bearer <token or API key>" } or { "x-api-key": "<key>" }',
        );
      }
      await this.credentials.resolve(credential, requestedWorkspaceId({ headers }));
    } catch (error) {
      const body = toErrorBody(error);
      if (body.statusCode >= 500) this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      // Closed here, with a code that says why; returning false then only repeats the close.
      ctx.extra.socket.close(closeCodeFor(body.statusCode), closeReason(`${body.code}: ${body.message}`));
      return false;
    }
    ctx.extra.headers = headers;
    return true;
  }

  private operationRequest(ctx: WsContext): AuthRequest {
    const userAgent = ctx.extra.request.headers['user-agent'];
    return { headers: { ...ctx.extra.headers, 'user-agent': userAgent }, ip: ctx.extra.request.socket.remoteAddress };
  }

  /** Parsed and validated here so that a bad document is an error message, not a dropped socket. */
  private prepare(payload: SubscribePayload, rules: ValidationRule[]): ExecutionArgs | readonly GraphQLError[] {
    const schema = this.schemaHost.schema;
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: OPERATION_LIMITS.maxTokens });
    } catch (error) {
      return [tagged(error instanceof GraphQLError ? error : new GraphQLError('Syntax error'), GraphqlRequestErrorCode.ParseFailed)];
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return errors.map((error) => tagged(error, GraphqlRequestErrorCode.ValidationFailed));
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
  }
}

function connectionHeaders(params: Record<string, unknown> | undefined): AuthRequest['headers'] {
  const headers: AuthRequest['headers'] = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    const name = key.toLowerCase();
    if (CONNECTION_HEADERS.includes(name) && typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** graphql-ws reserves 4400-4499; these follow its meaning (4401 Unauthorized, 4403 Forbidden). */
function closeCodeFor(statusCode: number): number {
  if (statusCode === 401) return 4401;
  if (statusCode === 403) return 4403;
  if (statusCode === 429) return 4429;
  return statusCode >= 500 ? 4500 : 4400;
}

function closeReason(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= MAX_CLOSE_REASON_BYTES
    ? reason
    : `${bytes
        .subarray(0, MAX_CLOSE_REASON_BYTES - 3)
        .toString()
        .replace(/\uFFFD$/, '')}...`;
}

function tagged(error: GraphQLError, code: GraphqlRequestErrorCode): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });
}

/** Variable coercion errors carry neither a path nor a cause; everything else goes through as is. */
function formatWsError(error: GraphQLError) {
  const requestLevel = !error.path && !error.originalError && error.extensions.code === undefined;
  const formatted = error.toJSON();
  return formatGraphQLError(requestLevel ? { ...formatted, extensions: { code: GraphqlRequestErrorCode.BadUserInput } } : formatted, error);
}
