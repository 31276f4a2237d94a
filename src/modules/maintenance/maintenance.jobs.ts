import { Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { JobQueue } from 'src/common/queue/job-queue';
import { JobName, QueueName } from 'src/common/queue/queue.constants';
import { AppConfig } from 'src/config/app-config';
import { MAINTENANCE_SCHEDULE_ID } from 'src/modules/maintenance/jobs/maintenance-run.job';
import { MaintenanceService } from 'src/modules/maintenance/maintenance.service';

/**
 * Runs maintenance as a repeatable job. On Redis the schedule is shared, so however many
 * scheduler replicas run, each interval produces one job that one of them takes.
 */
@Injectable()
export class MaintenanceJobs implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
    private readonly maintenance: MaintenanceService,
  ) {}

  onModuleInit(): void {
    this.queue.process(QueueName.Maintenance, { [JobName.MaintenanceRun]: () => this.maintenance.run() }, { concurrency: 1 });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.schedule(
      JobName.MaintenanceRun,
      {},
      {
        id: MAINTENANCE_SCHEDULE_ID,
        repeat: { every: this.config.maintenance.intervalMs },
        attempts: 3,
        backoff: { type: 'exponential', delayMs: 30_000 },
      },
    );
  }
}
