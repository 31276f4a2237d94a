import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from 'src/common/auth/auth.decorator';
import { TokenPairDto } from 'src/modules/auth/auth.dto';
import { ClientInfo } from 'src/modules/auth/auth.service';
import { Client } from 'src/modules/auth/client-info';
import { OIDC_LOGIN_COOKIE, readCookie } from 'src/modules/auth/oidc/oidc-login-state';
import { OidcProvidersDto } from 'src/modules/auth/oidc/oidc.dto';
import { OidcOutcome, OidcService } from 'src/modules/auth/oidc/oidc.service';

@ApiTags('auth')
@Controller('auth/oidc')
export class OidcController {
  constructor(private readonly oidc: OidcService) {}

  @Get('providers')
  @Public()
  @ApiOkResponse({ type: OidcProvidersDto })
  providers(): OidcProvidersDto {
    return this.oidc.providers();
  }

  @Get('login')
  @Public()
  @ApiOperation({ summary: 'Starts single sign-on: redirects the browser to the identity provider' })
  @ApiFoundResponse({ description: "Redirect to the provider's authorization endpoint; sets a short-lived HttpOnly login cookie" })
  async login(@Res() reply: FastifyReply): Promise<void> {
    const { outcome, cookie } = await this.oidc.startLogin();
    if (cookie) reply.header('set-cookie', cookie);
    send(reply, outcome);
  }

  /**
   * The query is read raw rather than through a DTO: providers add their own parameters
   * (Keycloak and Entra send session_state), and openid-client validates the response.
   */
  @Get('callback')
  @Public()
  @ApiOperation({ summary: 'Where the identity provider sends the browser back; signs the user in' })
  @ApiOkResponse({ type: TokenPairDto, description: 'Without OIDC_POST_LOGIN_REDIRECT_URL' })
  @ApiFoundResponse({ description: 'With OIDC_POST_LOGIN_REDIRECT_URL: redirect there, tokens or error in the URL fragment' })
  async callback(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Client() client: ClientInfo): Promise<void> {
    reply.header('set-cookie', this.oidc.clearLoginCookie());
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    send(reply, await this.oidc.finishLogin(query, readCookie(request.headers.cookie, OIDC_LOGIN_COOKIE), client));
  }
}

function send(reply: FastifyReply, outcome: OidcOutcome): void {
  reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
  if (outcome.redirectUrl !== undefined) void reply.redirect(outcome.redirectUrl, 302);
  else void reply.code(200).send(outcome.tokens);
}
