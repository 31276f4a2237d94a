import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated, Public } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { LoginDto, MeDto, RefreshDto, RegisterDto, TokenPairDto } from 'src/modules/auth/auth.dto';
import { AuthService, ClientInfo } from 'src/modules/auth/auth.service';
import { Client } from 'src/modules/auth/client-info';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Mutation(() => TokenPairDto, { description: 'The first user of an instance becomes its administrator' })
  @Public()
  register(@Args('input') input: RegisterDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.register(input, client);
  }

  @Mutation(() => TokenPairDto)
  @Public()
  login(@Args('input') input: LoginDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.login(input, client);
  }

  @Mutation(() => TokenPairDto, { description: 'Rotates the refresh token; reusing an old one revokes the session' })
  @Public()
  refresh(@Args('input') input: RefreshDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.auth.refresh(input.refreshToken, client);
  }

  @Mutation(() => Boolean, { description: 'Ends the session: its access and refresh tokens stop working at once' })
  @Authenticated({ sessionOnly: true })
  async logout(@Auth() auth: AuthContext, @Client() client: ClientInfo): Promise<boolean> {
    await this.auth.logout(auth, client);
    return true;
  }

  @Query(() => MeDto)
  @Authenticated()
  me(@Auth() auth: AuthContext): MeDto {
    return this.auth.me(auth);
  }
}
