import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectStore, StoredObject } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { checkObjectKey, payloadTooLarge, storedFileMissing } from 'src/modules/rag/storage/object-key';

const TEMP_DIR = '.incoming';

/**
 * Files in a folder (`DATA_DIR/objects` by default). A write goes to a temporary file that
 * is renamed into place once complete, so a reader never sees half a file and a failed or
 * oversized upload leaves nothing behind.
 */
export class LocalObjectStore extends ObjectStore {
  private readonly root: string;

  constructor(root: string) {
    super();
    this.root = resolve(root);
  }

  async put(key: string, body: Readable, options: { maxBytes: number }): Promise<StoredObject> {
    const target = this.pathOf(key);
    const tempDir = join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const temp = join(tempDir, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const file = await open(temp, 'wx', 0o600);
    try {
      for await (const chunk of body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        sizeBytes += bytes.length;
        if (sizeBytes > options.maxBytes) throw payloadTooLarge(options.maxBytes);
        hash.update(bytes);
        await file.write(bytes);
      }
      await file.sync();
      await file.close();
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (error) {
      body.destroy();
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    return { key, sizeBytes, sha256: hash.digest('hex') };
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw storedFileMissing();
      throw error;
    }
    return createReadStream(path);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  private pathOf(key: string): string {
    const path = resolve(this.root, checkObjectKey(key));
    if (!path.startsWith(this.root + sep)) throw new RagException(RagErrorCode.InvalidObjectKey, 'Invalid storage key');
    return path;
  }
}
