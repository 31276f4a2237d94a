import { Module } from '@nestjs/common';
import { ModelRegistryRepository } from 'src/modules/model-router/registry/model-registry.repository';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { ModelsResolver } from 'src/modules/model-router/registry/models.resolver';
import { AdminModelsController, ModelsController } from 'src/modules/model-router/registry/models.controller';
import { UpstreamsController } from 'src/modules/model-router/registry/upstreams.controller';
import { UpstreamsService } from 'src/modules/model-router/registry/upstreams.service';

/** The model catalogue and admin-configured upstreams; the router resolves names through it. */
@Module({
  controllers: [ModelsController, AdminModelsController, UpstreamsController],
  providers: [ModelRegistryRepository, ModelRegistryService, UpstreamsService, ModelsResolver],
  exports: [ModelRegistryService, UpstreamsService],
})
export class ModelRegistryModule {}
