import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from 'src/modules/auth/api-keys/api-keys.dto';
import { ApiKeysService } from 'src/modules/auth/api-keys/api-keys.service';

@ApiTags('api-keys')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Authenticated({ permission: Permission.ApiKeyCreate, sessionOnly: true })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@Auth() auth: AuthContext, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(auth, dto);
  }

  @Get()
  @Authenticated({ permission: Permission.ApiKeyRead })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(@Auth() auth: AuthContext): Promise<ApiKeyDto[]> {
    return this.keys.list(auth);
  }

  @Delete(':keyId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.ApiKeyRevoke })
  @ApiNoContentResponse()
  revoke(@Auth() auth: AuthContext, @Param('keyId', ParseUUIDPipe) keyId: string): Promise<void> {
    return this.keys.revoke(auth, keyId);
  }
}
