import type { Provider } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from 'src/config/app-config';
import { ObjectStore } from 'src/modules/rag/rag.contracts';
import { LocalObjectStore } from 'src/modules/rag/storage/local-object-store';

/** Uploaded files under DATA_DIR/objects. An S3-compatible store is the production counterpart (not built yet). */
export const objectStoreProvider: Provider = {
  provide: ObjectStore,
  inject: [AppConfig],
  useFactory: (config: AppConfig) => new LocalObjectStore(join(config.dataDir, 'objects')),
};
