import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from 'src/modules/rag/rag.contracts';

export interface ObjectStoreUnderTest {
  store: ObjectStore;
  /** Every key the store holds, as its callers named them, seen from outside the store (the folder, the bucket). */
  listKeys(): Promise<string[]>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

const bytesOf = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
};
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A body in pieces of at most 64 KiB, as an HTTP upload arrives. */
const streamOf = (bytes: Buffer, piece = 64 * 1024) =>
  Readable.from(Array.from({ length: Math.ceil(bytes.length / piece) }, (_, i) => bytes.subarray(i * piece, (i + 1) * piece)));

/**
 * What every ObjectStore must do, run against each implementation (the local folder, S3
 * through a real S3 API). Each test uses keys of its own, so one store serves the suite.
 */
export function describeObjectStoreContract(name: string, open: () => Promise<ObjectStoreUnderTest>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreUnderTest;
    let store: ObjectStore;
    const newKey = () => `workspaces/${randomBytes(6).toString('hex')}/kb/k1/d1`;
    const keysUnder = async (key: string) => (await subject.listKeys()).filter((stored) => stored === key || stored.startsWith(`${key}/`));

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.close();
    });

    it('stores, reads, reports and deletes an object, hashing it on the way', async () => {
      const key = newKey();
      const body = 'hello object store';
      const stored = await store.put(key, Readable.from([Buffer.from('hello '), Buffer.from('object store')]), { maxBytes: 100 });
      expect(stored).toEqual({ key, sizeBytes: body.length, sha256: sha256(Buffer.from(body)) });
      expect(await store.exists(key)).toBe(true);
      expect((await bytesOf(await store.get(key))).toString()).toBe(body);
      expect(await keysUnder(key)).toEqual([key]);
      await store.delete(key);
      expect(await store.exists(key)).toBe(false);
      expect(await keysUnder(key)).toEqual([]);
      // Deleting again is not an error: a retried cleanup must not fail.
      await store.delete(key);
    });

    it('keeps every byte value and the exact size, including an object of exactly the limit', async () => {
      const key = newKey();
      const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(10_000)]);
      const stored = await store.put(key, streamOf(bytes, 1000), { maxBytes: bytes.length });
      expect(stored).toMatchObject({ sizeBytes: bytes.length, sha256: sha256(bytes) });
      expect((await bytesOf(await store.get(key))).equals(bytes)).toBe(true);
      await store.delete(key);
    });

    it('streams a file of several parts (11 MiB) and reads back the same bytes', async () => {
      const key = newKey();
      const bytes = randomBytes(11 * MiB);
      const stored = await store.put(key, streamOf(bytes), { maxBytes: 20 * MiB });
      expect(stored).toEqual({ key, sizeBytes: bytes.length, sha256: sha256(bytes) });
      const read = await bytesOf(await store.get(key));
      expect(read.length).toBe(bytes.length);
      expect(sha256(read)).toBe(sha256(bytes));
      await store.delete(key);
    });

    it('stores an empty object (the caller decides whether empty files are allowed)', async () => {
      const key = newKey();
      expect(await store.put(key, Readable.from([]), { maxBytes: 10 })).toMatchObject({ sizeBytes: 0, sha256: sha256(Buffer.alloc(0)) });
      expect((await bytesOf(await store.get(key))).length).toBe(0);
      await store.delete(key);
    });

    it('refuses a stream past the limit with 413 and leaves nothing under the key', async () => {
      const key = newKey();
      const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 'x'));
      await expect(store.put(key, Readable.from(chunks), { maxBytes: 9_999 })).rejects.toMatchObject({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });
      expect(await store.exists(key)).toBe(false);
      expect(await keysUnder(key)).toEqual([]);
      expect((await store.put(key, Readable.from(chunks), { maxBytes: 10_000 })).sizeBytes).toBe(10_000);
      await store.delete(key);
    });

    it('refuses a large stream that passes the limit after several parts were sent, leaving nothing', async () => {
      const key = newKey();
      await expect(store.put(key, streamOf(randomBytes(13 * MiB)), { maxBytes: 12 * MiB })).rejects.toMatchObject({ status: 413 });
      expect(await store.exists(key)).toBe(false);
      expect(await keysUnder(key)).toEqual([]);
    });

    it('leaves the previous object intact when a replacing write fails, with the failure named', async () => {
      const key = newKey();
      await store.put(key, Readable.from([Buffer.from('first')]), { maxBytes: 100 });
      const failing = new Readable({
        read() {
          this.push(Buffer.from('partial'));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put(key, failing, { maxBytes: 100 })).rejects.toThrow('client went away');
      expect((await bytesOf(await store.get(key))).toString()).toBe('first');
      expect(await keysUnder(key)).toEqual([key]);
      await store.delete(key);
    });

    it('reports a missing object as missing: exists is false, get fails with RAG_STORED_FILE_MISSING', async () => {
      const key = newKey();
      expect(await store.exists(key)).toBe(false);
      await expect(store.get(key)).rejects.toMatchObject({ code: 'RAG_STORED_FILE_MISSING', status: 410 });
    });

    it.each([
      '../etc/passwd',
      'a/../../b',
      '/etc/passwd',
      'a//b',
      'a/./b',
      '.incoming/x',
      'a\\..\\b',
      'a/b/',
      '',
      'a\u0000b',
      'a?b',
      'x'.repeat(513),
    ])('refuses the key %j, which no id could produce', async (key) => {
      const invalid = { code: 'RAG_INVALID_OBJECT_KEY' };
      await expect(store.put(key, Readable.from([Buffer.from('x')]), { maxBytes: 10 })).rejects.toMatchObject(invalid);
      await expect(store.get(key)).rejects.toMatchObject(invalid);
      await expect(store.delete(key)).rejects.toMatchObject(invalid);
      await expect(store.exists(key)).rejects.toMatchObject(invalid);
    });
  });
}
