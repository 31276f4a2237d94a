import {
  BeforeApplicationShutdown,
  DynamicModule,
  Global,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { AppJobs } from 'src/common/queue/app-jobs';
import { BullMqJobQueue } from 'src/common/queue/bullmq-job-queue';
import { InMemoryJobQueue } from 'src/common/queue/in-memory-job-queue';
import { JobQueue } from 'src/common/queue/job-queue';
import { JOB_QUEUES } from 'src/common/queue/queue.constants';
import { AppConfig } from 'src/config/app-config';
import { ALL_ROLES } from 'src/config/roles';

export function createJobQueue(config: AppConfig): JobQueue<AppJobs> {
  return config.redisUrl
    ? new BullMqJobQueue<AppJobs>(JOB_QUEUES, { redisUrl: config.redisUrl, prefix: `${config.redisKeyPrefix}bull` })
    : new InMemoryJobQueue<AppJobs>(JOB_QUEUES);
}

/**
 * Provides `JobQueue`. Processors registered during module init start once the whole app
 * has booted; on shutdown, workers finish their running jobs before the database closes.
 */
@Global()
@Module({})
export class QueueModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('JobQueue');

  constructor(
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
  ) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: QueueModule,
      providers: [{ provide: JobQueue, useFactory: () => createJobQueue(config) }],
      exports: [JobQueue],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.redisUrl && this.config.roles.length < ALL_ROLES.length) {
      this.logger.warn('Queues are in memory (no REDIS_URL): jobs enqueued by this process run only in this process');
    }
    await this.queue.start();
  }

  // Before the shutdown hooks, so that the database is still open for the last jobs.
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.stopProcessing();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
