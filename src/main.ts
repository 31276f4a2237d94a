import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from 'src/app';
import { collectBootGarbage } from 'src/common/runtime/boot-garbage';
import { ConfigValidationError, loadConfig } from 'src/config/app-config';
import { DataDirLockedError } from 'src/database/embedded-postgres';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  app.enableShutdownHooks();
  await app.listen({ port: config.port, host: config.host });
  new Logger('Bootstrap').log(
    `GremlinsAI listening on ${config.publicUrl} (roles: ${config.roles.join(', ')}; database: ${config.isEmbeddedDatabase ? `embedded in ${config.dataDir}` : 'PostgreSQL'})`,
  );
  collectBootGarbage();
}

bootstrap().catch((error: unknown) => {
  // Configuration and ownership problems are the operator's to fix: say what, not a stack trace.
  if (error instanceof ConfigValidationError || error instanceof DataDirLockedError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
