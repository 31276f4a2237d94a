import { DynamicModule, Module, Type, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { EventsModule } from 'src/common/events/events.module';
import { AppConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { GremlinsRole } from 'src/config/roles';
import { DatabaseModule } from 'src/database/database.module';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthGuard } from 'src/modules/auth/auth.guard';
import { AuthModule } from 'src/modules/auth/auth.module';
import { SettingsModule } from 'src/modules/settings/settings.module';
import { UsersModule } from 'src/modules/users/users.module';
import { WorkspacesModule } from 'src/modules/workspaces/workspaces.module';

/** Feature modules each role brings; infrastructure below is loaded by every process. */
const ROLE_MODULES: Record<GremlinsRole, Type[]> = {
  api: [AuthModule, UsersModule, WorkspacesModule, SettingsModule],
  scheduler: [],
};

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const features = [...new Set(config.roles.flatMap((role) => ROLE_MODULES[role]))];
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), EventsModule, DatabaseModule, AuditModule, AuthModule, ...features],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useExisting: AuthGuard },
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
