import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { JobQueue } from 'src/common/queue/job-queue';
import { JobName, QueueName } from 'src/common/queue/queue.constants';
import { AppConfig } from 'src/config/app-config';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { INGEST_ATTEMPTS, INGEST_BACKOFF, ingestJobId } from 'src/modules/rag/ingestion/ingest-document.job';
import { IngestionService } from 'src/modules/rag/ingestion/ingestion.service';

/** Enqueues ingestion jobs and, in the `rag` role, works on them. */
@Injectable()
export class IngestionJobs implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('Ingestion');

  constructor(
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
    private readonly documents: DocumentsRepository,
    private readonly ingestion: IngestionService,
  ) {}

  onModuleInit(): void {
    this.queue.process(
      QueueName.Ingestion,
      { [JobName.IngestDocument]: (job) => this.ingestion.run(job) },
      { concurrency: this.config.ragIngestion.concurrency },
    );
  }

  /**
   * Documents left unfinished by a stopped process are queued again: an in-memory queue lost
   * their jobs, and a crash between the document's row and its job lost one too. With BullMQ a
   * job that still exists keeps its id, so this adds nothing for it.
   */
  async onApplicationBootstrap(): Promise<void> {
    const unfinished = await this.documents.unfinished();
    for (const document of unfinished) await this.enqueue(document.workspaceId, document.id, document.generation);
    if (unfinished.length > 0) this.logger.log(`Queued ${unfinished.length} unfinished document(s) for ingestion`);
  }

  async enqueue(workspaceId: string, documentId: string, generation: number): Promise<void> {
    await this.queue.enqueue(
      JobName.IngestDocument,
      { workspaceId, documentId, generation },
      { jobId: ingestJobId(documentId, generation), attempts: INGEST_ATTEMPTS, backoff: INGEST_BACKOFF },
    );
  }
}
