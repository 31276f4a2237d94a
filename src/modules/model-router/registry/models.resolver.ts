import { Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { ModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { UpstreamDto } from 'src/modules/model-router/registry/dto/upstreams.dto';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { UpstreamsService } from 'src/modules/model-router/registry/upstreams.service';

@Resolver(() => ModelDto)
export class ModelsResolver {
  constructor(
    private readonly registry: ModelRegistryService,
    private readonly upstreamsService: UpstreamsService,
  ) {}

  @Query(() => [ModelDto], { description: 'Enabled models callers may name' })
  @Authenticated({ permission: Permission.ModelRead })
  models(): Promise<ModelDto[]> {
    return this.registry.list({ enabledOnly: true });
  }

  @Query(() => [ModelDto], { description: 'Every model, enabled or not. Instance administrators only' })
  @Authenticated({ permission: Permission.AdminModelManage })
  adminModels(): Promise<ModelDto[]> {
    return this.registry.list();
  }

  @Query(() => [UpstreamDto], { description: 'Configured upstreams (keys are never returned). Instance administrators only' })
  @Authenticated({ permission: Permission.AdminModelManage })
  upstreams(): Promise<UpstreamDto[]> {
    return this.upstreamsService.list();
  }
}
