import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from 'src/config/app-config';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import { ApiKeysController } from 'src/modules/auth/api-keys/api-keys.controller';
import { ApiKeysRepository } from 'src/modules/auth/api-keys/api-keys.repository';
import { ApiKeysResolver } from 'src/modules/auth/api-keys/api-keys.resolver';
import { ApiKeysService } from 'src/modules/auth/api-keys/api-keys.service';
import { AuthEventsListener } from 'src/modules/auth/auth-events.listener';
import { AccessCache } from 'src/modules/auth/access-cache.service';
import { AuthController } from 'src/modules/auth/auth.controller';
import { AuthGuard } from 'src/modules/auth/auth.guard';
import { AuthResolver } from 'src/modules/auth/auth.resolver';
import { AuthService } from 'src/modules/auth/auth.service';
import { CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { CredentialsRepository } from 'src/modules/auth/credentials.repository';
import { OidcAccountsService } from 'src/modules/auth/oidc/oidc-accounts.service';
import { OidcClientService } from 'src/modules/auth/oidc/oidc-client.service';
import { OidcController } from 'src/modules/auth/oidc/oidc.controller';
import { OidcService } from 'src/modules/auth/oidc/oidc.service';
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
  controllers: [AuthController, ApiKeysController, OidcController],
  providers: [
    AuthService,
    TokenService,
    SessionsRepository,
    CredentialsRepository,
    CredentialResolver,
    AccessCache,
    ApiKeysRepository,
    ApiKeysService,
    AuthEventsListener,
    AuthGuard,
    AuthResolver,
    ApiKeysResolver,
    OidcClientService,
    OidcAccountsService,
    OidcService,
  ],
  exports: [AuthService, CredentialResolver, AuthGuard, TokenService, SessionsRepository, ApiKeysRepository],
})
export class AuthModule {}
