import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from 'src/modules/rag/storage/local-object-store';
import { describeObjectStoreContract } from 'src/modules/rag/storage/object-store.contract';

const TEMP_DIR = '.incoming';
/** Files under the root, as keys; the temporary folder is the store's own business. */
const filesUnder = (root: string) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .filter((key) => !key.startsWith(`${TEMP_DIR}/`))
    .sort();

describeObjectStoreContract('local folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'gremlins-objects-'));
  return Promise.resolve({
    store: new LocalObjectStore(root),
    listKeys: () => Promise.resolve(filesUnder(root)),
    close: () => Promise.resolve(rmSync(root, { recursive: true, force: true })),
  });
});

describe('LocalObjectStore specifics', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gremlins-objects-'));
    store = new LocalObjectStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes through a temporary file and leaves none behind, whether the write succeeds, is too large or fails', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 'x'));
    await expect(store.put('a/b', Readable.from(chunks), { maxBytes: 9_999 })).rejects.toMatchObject({ status: 413 });
    expect(readdirSync(join(root, TEMP_DIR))).toEqual([]);
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put('a/b', failing, { maxBytes: 100 })).rejects.toThrow('client went away');
    expect(readdirSync(join(root, TEMP_DIR))).toEqual([]);
    await store.put('a/b', Readable.from(chunks), { maxBytes: 10_000 });
    expect(readdirSync(join(root, TEMP_DIR))).toEqual([]);
    expect(filesUnder(root)).toEqual(['a/b']);
  });
});
