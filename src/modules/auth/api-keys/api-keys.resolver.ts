import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from 'src/modules/auth/api-keys/api-keys.dto';
import { ApiKeysService } from 'src/modules/auth/api-keys/api-keys.service';

@Resolver()
export class ApiKeysResolver {
  constructor(private readonly keys: ApiKeysService) {}

  @Query(() => [ApiKeyDto], { description: 'Your keys in the workspace; workspace managers see every key' })
  @Authenticated({ permission: Permission.ApiKeyRead })
  apiKeys(@Auth() auth: AuthContext, @WorkspaceArg() _workspaceId?: string): Promise<ApiKeyDto[]> {
    return this.keys.list(auth);
  }

  @Mutation(() => CreatedApiKeyDto)
  @Authenticated({ permission: Permission.ApiKeyCreate, sessionOnly: true })
  createApiKey(
    @Auth() auth: AuthContext,
    @Args('input') input: CreateApiKeyDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<CreatedApiKeyDto> {
    return this.keys.create(auth, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.ApiKeyRevoke })
  async revokeApiKey(
    @Auth() auth: AuthContext,
    @Args('keyId', { type: () => ID }, ParseUUIDPipe) keyId: string,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<boolean> {
    await this.keys.revoke(auth, keyId);
    return true;
  }
}
