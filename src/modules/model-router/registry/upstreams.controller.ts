import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { CreateUpstreamDto, UpdateUpstreamDto, UpstreamDto } from 'src/modules/model-router/registry/dto/upstreams.dto';
import { UpstreamsService } from 'src/modules/model-router/registry/upstreams.service';

@ApiTags('admin')
@Controller('admin/upstreams')
export class UpstreamsController {
  constructor(private readonly upstreams: UpstreamsService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiOkResponse({ type: [UpstreamDto] })
  list(): Promise<UpstreamDto[]> {
    return this.upstreams.list();
  }

  @Get(':upstreamId')
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiOkResponse({ type: UpstreamDto })
  get(@Param('upstreamId', ParseUUIDPipe) upstreamId: string): Promise<UpstreamDto> {
    return this.upstreams.get(upstreamId);
  }

  // Session only: an API key, even an admin's, never sets where the router sends traffic or with which secret.
  @Post()
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiOkResponse({ type: UpstreamDto })
  create(@Body() dto: CreateUpstreamDto): Promise<UpstreamDto> {
    return this.upstreams.create(dto);
  }

  @Patch(':upstreamId')
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiOkResponse({ type: UpstreamDto })
  update(@Param('upstreamId', ParseUUIDPipe) upstreamId: string, @Body() dto: UpdateUpstreamDto): Promise<UpstreamDto> {
    return this.upstreams.update(upstreamId, dto);
  }

  @Delete(':upstreamId')
  @HttpCode(204)
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiNoContentResponse()
  delete(@Param('upstreamId', ParseUUIDPipe) upstreamId: string): Promise<void> {
    return this.upstreams.delete(upstreamId);
  }
}
