import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated, Public } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { LoginDto, MeDto, RefreshDto, RegisterDto, TokenPairDto } from 'src/modules/auth/auth.dto';
import { AuthService, ClientInfo } from 'src/modules/auth/auth.service';
import { Client } from 'src/modules/auth/client-info';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @Public()
  @ApiCreatedResponse({ type: TokenPairDto, description: 'The first user of an instance becomes its administrator' })
  register(@Body() dto: RegisterDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.register(dto, client);
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @ApiOkResponse({ type: TokenPairDto })
  login(@Body() dto: LoginDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.login(dto, client);
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @ApiOkResponse({ type: TokenPairDto, description: 'Rotates the refresh token; reusing an old one revokes the session' })
  refresh(@Body() dto: RefreshDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.refresh(dto.refreshToken, client);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated({ sessionOnly: true })
  @ApiNoContentResponse({ description: 'Ends the session: its access and refresh tokens stop working at once' })
  logout(@Auth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.auth.logout(auth, client);
  }

  @Get('me')
  @Authenticated()
  @ApiOkResponse({ type: MeDto })
  me(@Auth() auth: AuthContext): MeDto {
    return this.auth.me(auth);
  }
}
