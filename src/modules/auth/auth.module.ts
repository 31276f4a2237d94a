import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from 'src/config/app-config';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import { ApiKeysController } from 'src/modules/auth/api-keys/api-keys.controller';
import { ApiKeysRepository } from 'src/modules/auth/api-keys/api-keys.repository';
import { ApiKeysService } from 'src/modules/auth/api-keys/api-keys.service';
import { AuthEventsListener } from 'src/modules/auth/auth-events.listener';
import { AuthController } from 'src/modules/auth/auth.controller';
import { AuthGuard } from 'src/modules/auth/auth.guard';
import { AuthService } from 'src/modules/auth/auth.service';
import { CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { CredentialsRepository } from 'src/modules/auth/credentials.repository';
import { SessionsRepository } from 'src/modules/auth/tokens/sessions.repository';
import { TokenService } from 'src/modules/auth/tokens/token.service';
import { SettingsModule } from 'src/modules/settings/settings.module';
import { UsersModule } from 'src/modules/users/users.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKey]),
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ secret: config.jwtSecret, signOptions: { algorithm: 'HS256' } }),
    }),
    UsersModule,
    SettingsModule,
  ],
  controllers: [AuthController, ApiKeysController],
  providers: [
    AuthService,
    TokenService,
    SessionsRepository,
    CredentialsRepository,
    CredentialResolver,
    ApiKeysRepository,
    ApiKeysService,
    AuthEventsListener,
    AuthGuard,
  ],
  exports: [AuthService, CredentialResolver, AuthGuard, TokenService, SessionsRepository, ApiKeysRepository],
})
export class AuthModule {}
