import { DynamicModule, Module, Type, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CacheModule } from 'src/common/cache/cache.module';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { EventsModule } from 'src/common/events/events.module';
import { ObservabilityModule } from 'src/common/observability/observability.module';
import { QueueModule } from 'src/common/queue/queue.module';
import { RedisModule } from 'src/common/redis/redis.module';
import { TransportModule } from 'src/common/transport/transport.module';
import { AppConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { GremlinsRole } from 'src/config/roles';
import { DatabaseModule } from 'src/database/database.module';
import { GraphqlModule } from 'src/graphql/graphql.module';
import { AgentsModule } from 'src/modules/agents/agents.module';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ConversationsModule } from 'src/modules/conversations/conversations.module';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { ModelRegistryModule } from 'src/modules/model-router/registry/model-registry.module';
import { UsageApiModule } from 'src/modules/model-router/usage/usage-api.module';
import { MaintenanceModule } from 'src/modules/maintenance/maintenance.module';
import { AccessGuard } from 'src/modules/rate-limit/access.guard';
import { RateLimitModule } from 'src/modules/rate-limit/rate-limit.module';
import { RagModule } from 'src/modules/rag/rag.module';
import { RealtimeModule } from 'src/modules/realtime/realtime.module';
import { SettingsModule } from 'src/modules/settings/settings.module';
import { SystemModule } from 'src/modules/system/system.module';
import { UsersModule } from 'src/modules/users/users.module';
import { WorkspacesModule } from 'src/modules/workspaces/workspaces.module';

/** Feature modules each role brings; infrastructure below is loaded by every process. */
export const ROLE_MODULES: Record<GremlinsRole, Type[]> = {
  api: [
    AuthModule,
    UsersModule,
    WorkspacesModule,
    SettingsModule,
    RealtimeModule,
    GraphqlModule,
    SystemModule,
    ModelRegistryModule,
    UsageApiModule,
  ],
  scheduler: [MaintenanceModule],
  router: [ModelRouterModule, ConversationsModule],
  rag: [RagModule],
  agents: [AgentsModule],
};

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const features = [...new Set(config.roles.flatMap((role) => ROLE_MODULES[role]))];
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        EventsModule,
        DatabaseModule,
        RedisModule,
        TransportModule.forRoot(config),
        QueueModule.forRoot(config),
        CacheModule,
        AuditModule,
        AuthModule,
        RateLimitModule,
        ...features,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // Authenticates, then meters the caller's hourly budget (AuthGuard + RateLimitGuard).
        { provide: APP_GUARD, useExisting: AccessGuard },
        {
          provide: APP_PIPE,
          // Unknown fields are rejected, not dropped: a client sending `role` or
          // `workspaceId` where none belongs learns so instead of being silently ignored.
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, forbidUnknownValues: true }),
        },
      ],
    };
  }
}
