import type { Provider } from '@nestjs/common';
import { AppConfig, type ObjectStoreConfig } from 'src/config/app-config';
import { ObjectStore } from 'src/modules/rag/rag.contracts';
import { LocalObjectStore } from 'src/modules/rag/storage/local-object-store';
import { S3ObjectStore } from 'src/modules/rag/storage/s3-object-store';

/**
 * The store OBJECT_STORE names. The S3 one checks its bucket in the background (logged, not
 * fatal): an unreachable endpoint would otherwise hold boot for the SDK's retries.
 */
export function openObjectStore(settings: ObjectStoreConfig): ObjectStore {
  if (settings.kind === 'local') return new LocalObjectStore(settings.root);
  const { kind: _kind, ...options } = settings;
  const store = new S3ObjectStore(options);
  void store.connect();
  return store;
}

/** Uploaded files: under DATA_DIR/objects by default, in an S3-compatible bucket with OBJECT_STORE=s3. */
export const objectStoreProvider: Provider = {
  provide: ObjectStore,
  inject: [AppConfig],
  useFactory: (config: AppConfig) => openObjectStore(config.objectStore),
};
