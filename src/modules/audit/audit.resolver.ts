import { AuthorizedSubscription } from 'src/graphql/subscription-access.interceptor';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { PubSubService } from 'src/graphql/pubsub.service';
import { AuditEventDto, ListAuditEventsQuery } from 'src/modules/audit/audit-events.dto';
import { AuditService } from 'src/modules/audit/audit.service';

@Resolver(() => AuditEventDto)
export class AuditResolver {
  constructor(
    private readonly audit: AuditService,
    private readonly pubsub: PubSubService,
  ) {}

  @Query(() => [AuditEventDto], { description: 'Newest first; instance administrators only' })
  @Authenticated({ permission: Permission.AdminAuditRead })
  auditEvents(@Args() query: ListAuditEventsQuery): Promise<AuditEventDto[]> {
    return this.audit.list(query);
  }

  @AuthorizedSubscription(() => AuditEventDto, {
    description: 'Every audit record as it is written, on any replica; instance administrators only',
    resolve: (event: AuditEventDto) => event,
  })
  @Authenticated({ permission: Permission.AdminAuditRead })
  auditEventRecorded() {
    return this.pubsub.subscribe('audit-event-recorded');
  }
}
