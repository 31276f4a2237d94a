import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppEvents } from 'src/common/events/app-events';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { CreateWorkspaceDto, UpdateWorkspaceDto, WorkspaceDto } from 'src/modules/workspaces/workspaces.dto';
import { WorkspacesErrorCode, WorkspacesException } from 'src/modules/workspaces/workspaces.exception';
import { WorkspacesRepository } from 'src/modules/workspaces/workspaces.repository';

/**
 * Workspace lifecycle. Routes under `/workspaces/:workspaceId` reach here only after the
 * auth guard has confirmed membership and the route's permission in that workspace.
 */
@Injectable()
export class WorkspacesService {
  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly audit: AuditService,
    private readonly events: AppEvents,
  ) {}

  listMine(auth: AuthContext): Promise<WorkspaceDto[]> {
    return this.workspaces.listForUser(auth.userId).then((rows) => rows.map(toDto));
  }

  async create(auth: AuthContext, dto: CreateWorkspaceDto): Promise<WorkspaceDto> {
    const workspace = await this.workspaces.createWithOwner(dto.name, auth.userId);
    return this.get({ ...auth, workspaceId: workspace.id });
  }

  async get(auth: AuthContext): Promise<WorkspaceDto> {
    const mine = await this.workspaces.listForUser(auth.userId);
    const workspace = mine.find((candidate) => candidate.id === auth.workspaceId);
    if (!workspace) throw CommonErrors.notFound('Workspace');
    return toDto(workspace);
  }

  async rename(auth: AuthContext, dto: UpdateWorkspaceDto): Promise<WorkspaceDto> {
    await this.workspaces.rename(auth.workspaceId, dto.name);
    return this.get(auth);
  }

  async delete(auth: AuthContext): Promise<void> {
    const workspace = await this.workspaces.findById(auth.workspaceId);
    if (!workspace) throw CommonErrors.notFound('Workspace');
    if (workspace.personal) throw new WorkspacesException(WorkspacesErrorCode.PersonalWorkspace, 'A personal workspace cannot be deleted');
    await this.workspaces.delete(auth.workspaceId);
    await this.events.emit('access.changed', { reason: 'workspace-deleted' });
    await this.audit.record({
      action: AuditAction.WorkspaceDeleted,
      actor: auth,
      target: { type: 'workspace', id: workspace.id },
      workspaceId: workspace.id,
    });
  }
}

function toDto(workspace: Awaited<ReturnType<WorkspacesRepository['listForUser']>>[number]): WorkspaceDto {
  return {
    id: workspace.id,
    name: workspace.name,
    personal: workspace.personal,
    role: workspace.role,
    customRoleId: workspace.customRoleId,
    createdAt: workspace.createdAt,
  };
}
