import { JOB_QUEUES, JobName } from 'src/common/queue/queue.constants';
import type { RunTaskJob } from 'src/modules/agents/engine/run-task.job';
import type { StartRunJob } from 'src/modules/agents/engine/start-run.job';
import type { MaintenanceRunJob } from 'src/modules/maintenance/jobs/maintenance-run.job';
import type { IngestDocumentJob } from 'src/modules/rag/ingestion/ingest-document.job';

/** Payload of each job; a job missing here fails to compile below. */
interface JobPayloads {
  [JobName.MaintenanceRun]: MaintenanceRunJob;
  [JobName.IngestDocument]: IngestDocumentJob;
  [JobName.AgentRunStart]: StartRunJob;
  [JobName.AgentTaskRun]: RunTaskJob;
}

/** The app's jobs as the queue sees them: name -> queue and payload. */
export type AppJobs = { [N in JobName]: { queue: (typeof JOB_QUEUES)[N]; payload: JobPayloads[N] } };
