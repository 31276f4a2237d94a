import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AgentDefinition } from 'src/modules/agents/definitions/agent-definition.entity';

export type AgentDefinitionFields = Pick<
  AgentDefinition,
  'name' | 'description' | 'systemPrompt' | 'tier' | 'model' | 'tools' | 'maxSteps' | 'maxToolCalls' | 'createdBy'
>;
export type AgentDefinitionPatch = Partial<Omit<AgentDefinitionFields, 'createdBy'>>;

/** Custom agents; every method is scoped by workspace. */
@Injectable()
export class AgentDefinitionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get repository() {
    return this.dataSource.getRepository(AgentDefinition);
  }

  create(workspaceId: string, fields: AgentDefinitionFields): Promise<AgentDefinition> {
    return this.repository.save(this.repository.create({ workspaceId, ...fields }));
  }

  find(workspaceId: string, id: string): Promise<AgentDefinition | null> {
    return this.repository.findOneBy({ id, workspaceId });
  }

  findByName(workspaceId: string, name: string): Promise<AgentDefinition | null> {
    return this.repository.findOneBy({ workspaceId, name });
  }

  list(workspaceId: string): Promise<AgentDefinition[]> {
    return this.repository.find({ where: { workspaceId }, order: { name: 'ASC' } });
  }

  async update(workspaceId: string, id: string, patch: AgentDefinitionPatch): Promise<AgentDefinition | null> {
    if (Object.keys(patch).length > 0) await this.repository.update({ id, workspaceId }, patch);
    return this.find(workspaceId, id);
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.repository.delete({ id, workspaceId });
    return (result.affected ?? 0) > 0;
  }
}
