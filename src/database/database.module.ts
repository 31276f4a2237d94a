import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';
import { buildDataSourceOptions, POOL_SIZE } from 'src/database/database-options';

export const EMBEDDED_POSTGRES = Symbol('EMBEDDED_POSTGRES');

@Module({
  providers: [
    {
      provide: EMBEDDED_POSTGRES,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Promise<EmbeddedPostgres> | null =>
        config.isEmbeddedDatabase
          ? EmbeddedPostgres.start({ dataDir: config.dataDir, maxConnections: POOL_SIZE, sharedBuffers: config.embeddedDbSharedBuffers })
          : null,
    },
  ],
  exports: [EMBEDDED_POSTGRES],
})
class EmbeddedPostgresModule {}

/**
 * Relational data: PostgreSQL when DATABASE_URL is set, otherwise an embedded PGlite in
 * DATA_DIR. Migrations run at boot in both cases, so the schema is always the one the code
 * expects.
 */
@Global()
@Module({
  imports: [
    EmbeddedPostgresModule,
    TypeOrmModule.forRootAsync({
      imports: [EmbeddedPostgresModule],
      inject: [AppConfig, EMBEDDED_POSTGRES],
      useFactory: (config: AppConfig, embedded: EmbeddedPostgres | null) => ({
        ...buildDataSourceOptions(embedded ? embedded.connection : { url: config.databaseUrl! }),
        migrationsRun: true,
      }),
    }),
  ],
})
export class DatabaseModule implements OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseModule.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EMBEDDED_POSTGRES) private readonly embedded: EmbeddedPostgres | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // The pool must close before the embedded server it talks to goes away.
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    if (this.embedded) {
      await this.embedded.stop();
      this.logger.log('Embedded database stopped');
    }
  }
}
