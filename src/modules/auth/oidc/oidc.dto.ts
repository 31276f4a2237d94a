import { ApiProperty } from '@nestjs/swagger';

export class OidcProvidersDto {
  @ApiProperty({ description: 'Whether single sign-on through an OIDC provider is configured' })
  enabled: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'Display name for the login button, e.g. "Keycloak"' })
  name: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Where a browser goes to start the login', example: '/api/v1/auth/oidc/login' })
  loginUrl: string | null;
}
