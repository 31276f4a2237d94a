import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { ConversationsRepository } from 'src/modules/conversations/conversations.repository';

/** How often a replica looks for answers left `streaming` by a dead process. */
const SWEEP_INTERVAL_MS = 5 * 60_000;

/**
 * Marks answers abandoned by a crashed process as incomplete, at boot and every few minutes,
 * so that no message stays `streaming` forever. The age threshold is far above any real
 * generation time, so an answer still being written elsewhere is never touched.
 */
@Injectable()
export class StaleStreamSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Conversations');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: ConversationsRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async sweep(now = new Date()): Promise<number> {
    try {
      const ended = await this.repository.endStaleStreams(new Date(now.getTime() - this.config.conversations.staleStreamMs));
      if (ended > 0) this.logger.warn(`Marked ${ended} abandoned answer(s) incomplete (GENERATION_LOST)`);
      return ended;
    } catch (error) {
      this.logger.error(`Sweeping abandoned answers failed: ${error instanceof Error ? error.message : String(error)}`);
      return 0;
    }
  }
}
