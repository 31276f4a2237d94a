import { Injectable } from '@nestjs/common';
import { OnAppEvent } from 'src/common/events/app-events';
import type { AppEventMap } from 'src/common/events/app-events';
import { PubSubService } from 'src/graphql/pubsub.service';
import { MemberChange, WorkspaceMemberChangeDto } from 'src/modules/workspaces/workspaces.dto';

/** Feeds the `workspaceMemberChanged` GraphQL subscription, on every replica. */
@Injectable()
export class WorkspaceMembersListener {
  constructor(private readonly pubsub: PubSubService) {}

  @OnAppEvent('workspace.member.changed')
  onMemberChanged(event: AppEventMap['workspace.member.changed']): void {
    const change: WorkspaceMemberChangeDto = {
      workspaceId: event.workspaceId,
      userId: event.userId,
      change: event.change as MemberChange,
      role: event.role as WorkspaceMemberChangeDto['role'],
      customRoleId: event.customRoleId,
      actorUserId: event.actorUserId,
      changedAt: new Date(),
    };
    this.pubsub.publish('workspace-member-changed', change, event.workspaceId);
  }
}
