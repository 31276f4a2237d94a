import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AdminQuotasService } from 'src/modules/model-router/usage/admin-quotas.service';
import { ListQuotasQuery, QuotaDto, QuotaKeyParams, QuotaPageDto, SetQuotaDto } from 'src/modules/model-router/usage/dto/quotas.dto';

/** A quota is addressed by what it limits: PUT is an idempotent upsert of that limit. */
@ApiTags('admin')
@Controller('admin/quotas')
export class AdminQuotasController {
  constructor(private readonly quotas: AdminQuotasService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminQuotaManage })
  @ApiOkResponse({ type: QuotaPageDto })
  list(@Query() query: ListQuotasQuery): Promise<QuotaPageDto> {
    return this.quotas.list(query);
  }

  @Put(':scope/:subjectId/:period')
  @Authenticated({ permission: Permission.AdminQuotaManage, sessionOnly: true })
  @ApiOkResponse({ type: QuotaDto })
  set(@Auth() auth: AuthContext, @Param() key: QuotaKeyParams, @Body() dto: SetQuotaDto): Promise<QuotaDto> {
    return this.quotas.set(auth, key, dto.limitTokens);
  }

  @Delete(':scope/:subjectId/:period')
  @HttpCode(204)
  @Authenticated({ permission: Permission.AdminQuotaManage, sessionOnly: true })
  @ApiNoContentResponse()
  delete(@Auth() auth: AuthContext, @Param() key: QuotaKeyParams): Promise<void> {
    return this.quotas.delete(auth, key);
  }
}
