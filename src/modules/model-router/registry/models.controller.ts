import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { CreateModelDto, ModelDto, UpdateModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';

/** What members of a workspace may call: enabled models only. */
@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelRegistryService) {}

  @Get()
  @Authenticated({ permission: Permission.ModelRead })
  @ApiOkResponse({ type: [ModelDto] })
  list(): Promise<ModelDto[]> {
    return this.models.list({ enabledOnly: true });
  }
}

@ApiTags('admin')
@Controller('admin/models')
export class AdminModelsController {
  constructor(private readonly models: ModelRegistryService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiOkResponse({ type: [ModelDto] })
  list(): Promise<ModelDto[]> {
    return this.models.list();
  }

  @Get(':modelId')
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiOkResponse({ type: ModelDto })
  get(@Param('modelId', ParseUUIDPipe) modelId: string): Promise<ModelDto> {
    return this.models.get(modelId);
  }

  @Post()
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiOkResponse({ type: ModelDto })
  create(@Body() dto: CreateModelDto): Promise<ModelDto> {
    return this.models.create(dto);
  }

  @Patch(':modelId')
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiOkResponse({ type: ModelDto })
  update(@Param('modelId', ParseUUIDPipe) modelId: string, @Body() dto: UpdateModelDto): Promise<ModelDto> {
    return this.models.update(modelId, dto);
  }

  @Delete(':modelId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiNoContentResponse()
  delete(@Param('modelId', ParseUUIDPipe) modelId: string): Promise<void> {
    return this.models.delete(modelId);
  }
}
