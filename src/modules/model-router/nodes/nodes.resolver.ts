import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { LoadModelDto, NodeDto, PullModelDto, UnloadModelDto } from 'src/modules/model-router/nodes/dto/nodes.dto';
import { NodesService } from 'src/modules/model-router/nodes/nodes.service';

/** The Ollama nodes, as on /api/v1/admin/nodes. Served where the `api` and `router` roles share a process. */
@Resolver(() => NodeDto)
export class NodesResolver {
  constructor(private readonly service: NodesService) {}

  @Query(() => [NodeDto], { description: 'Ollama nodes with the models on disk and in memory. Instance administrators only' })
  @Authenticated({ permission: Permission.AdminModelManage })
  nodes(): NodeDto[] {
    return this.service.list();
  }

  @Query(() => NodeDto, { description: 'One Ollama node by id. Instance administrators only' })
  @Authenticated({ permission: Permission.AdminModelManage })
  node(@Args('nodeId', { type: () => ID }) nodeId: string): NodeDto {
    return this.service.get(nodeId);
  }

  @Mutation(() => NodeDto, { description: 'Pulls a model onto a node and waits (OLLAMA_ADMIN_TIMEOUT_MS); REST streams progress' })
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  pullModel(
    @Auth() auth: AuthContext,
    @Args('nodeId', { type: () => ID }) nodeId: string,
    @Args('input') input: PullModelDto,
  ): Promise<NodeDto> {
    return this.service.pull(auth, nodeId, input.model, { bounded: true });
  }

  @Mutation(() => NodeDto, { description: 'Loads a model into memory on a node; keepAlive -1 (default) pins it' })
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  loadModel(
    @Auth() auth: AuthContext,
    @Args('nodeId', { type: () => ID }) nodeId: string,
    @Args('input') input: LoadModelDto,
  ): Promise<NodeDto> {
    return this.service.load(auth, nodeId, input.model, input.keepAlive);
  }

  @Mutation(() => NodeDto, { description: 'Unloads a model from memory on a node' })
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  unloadModel(
    @Auth() auth: AuthContext,
    @Args('nodeId', { type: () => ID }) nodeId: string,
    @Args('input') input: UnloadModelDto,
  ): Promise<NodeDto> {
    return this.service.unload(auth, nodeId, input.model);
  }
}
