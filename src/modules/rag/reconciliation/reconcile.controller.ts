import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';
import { ReconcileReportDto, ReconcileRequestDto } from 'src/modules/rag/reconciliation/reconcile.dto';

/** Served by the `rag` role: the reconciler needs the vector store and the embedders, which live there. */
@ApiTags('admin')
@Controller('admin/rag')
export class ReconcileController {
  constructor(
    private readonly reconciler: RagReconciler,
    private readonly audit: AuditService,
  ) {}

  @Post('reconcile')
  @HttpCode(HttpStatus.OK)
  @Authenticated({ permission: Permission.AdminSystemManage, sessionOnly: true })
  @ApiOperation({
    summary: 'Compare chunk rows with stored vectors and repair the difference (or only report it, with dryRun)',
    description:
      'Deletes vectors without a chunk row (including every vector of deleted knowledge bases) and embeds again the stored ' +
      "text of chunk rows without a vector at their knowledge base's dimension. Documents being ingested are skipped.",
  })
  @ApiOkResponse({ type: ReconcileReportDto })
  @ApiNotFoundResponse({ description: 'KNOWLEDGE_BASE_NOT_FOUND: no such knowledge base, and no vectors under its id' })
  @ApiConflictResponse({ description: 'RAG_RECONCILE_RUNNING: a reconciliation is running in this process' })
  async reconcile(@Auth() auth: AuthContext, @Body() body: ReconcileRequestDto): Promise<ReconcileReportDto> {
    const report = await this.reconciler.run({ knowledgeBaseId: body.knowledgeBaseId, dryRun: body.dryRun });
    await this.audit.record({
      action: AuditAction.RagReconciled,
      actor: auth,
      target: body.knowledgeBaseId ? { type: 'knowledge-base', id: body.knowledgeBaseId } : undefined,
      metadata: { dryRun: report.dryRun, ...report.totals },
    });
    return report;
  }
}
