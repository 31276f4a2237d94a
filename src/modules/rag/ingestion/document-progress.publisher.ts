import { Injectable } from '@nestjs/common';
import { PubSubService } from 'src/graphql/pubsub.service';
import type { DocumentProgressPayload } from 'src/modules/realtime/realtime-events';
import { RealtimeService } from 'src/modules/realtime/realtime.service';

/**
 * Tells the uploader (Socket.IO, `rag:document.progress`) and every `documentProgress`
 * subscriber of the knowledge base (GraphQL) where a document's ingestion stands. With Redis
 * both reach clients on every replica, whichever process runs the job.
 */
@Injectable()
export class DocumentProgressPublisher {
  constructor(
    private readonly realtime: RealtimeService,
    private readonly pubsub: PubSubService,
  ) {}

  publish(uploaderId: string | null, progress: DocumentProgressPayload): void {
    if (uploaderId) this.realtime.emitToUser(uploaderId, 'rag:document.progress', progress);
    this.pubsub.publish('rag-document-progress', progress, progress.knowledgeBaseId);
  }
}
