import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from 'src/modules/rag/storage/local-object-store';

const filesUnder = (root: string) => readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
const text = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts).toString();
};

describe('LocalObjectStore', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gremlins-objects-'));
    store = new LocalObjectStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stores, reads, reports and deletes an object, hashing it on the way', async () => {
    const body = 'hello object store';
    const stored = await store.put('workspaces/w1/kb/k1/d1', Readable.from([Buffer.from('hello '), Buffer.from('object store')]), {
      maxBytes: 100,
    });
    expect(stored).toEqual({
      key: 'workspaces/w1/kb/k1/d1',
      sizeBytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(await store.exists('workspaces/w1/kb/k1/d1')).toBe(true);
    expect(await text(await store.get('workspaces/w1/kb/k1/d1'))).toBe(body);
    await store.delete('workspaces/w1/kb/k1/d1');
    expect(await store.exists('workspaces/w1/kb/k1/d1')).toBe(false);
    await expect(store.get('workspaces/w1/kb/k1/d1')).rejects.toThrow();
    await store.delete('workspaces/w1/kb/k1/d1');
  });

  it('refuses a stream past the limit with 413 and leaves nothing, not even a temporary file', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 'x'));
    await expect(store.put('a/b', Readable.from(chunks), { maxBytes: 9_999 })).rejects.toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(filesUnder(root).filter((entry) => !entry.endsWith('.incoming') && entry !== '.incoming')).toEqual([]);
    expect(readdirSync(join(root, '.incoming'))).toEqual([]);
    expect((await store.put('a/b', Readable.from(chunks), { maxBytes: 10_000 })).sizeBytes).toBe(10_000);
  });

  it('leaves the previous object intact when a replacing write fails', async () => {
    await store.put('a/b', Readable.from([Buffer.from('first')]), { maxBytes: 100 });
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put('a/b', failing, { maxBytes: 100 })).rejects.toThrow('client went away');
    expect(await text(await store.get('a/b'))).toBe('first');
    expect(readdirSync(join(root, '.incoming'))).toEqual([]);
  });

  it.each(['../etc/passwd', 'a/../../b', '/etc/passwd', 'a//b', 'a/./b', '.incoming/x', 'a\\..\\b', 'a/b/', '', 'a\u0000b'])(
    'refuses the key %j, which no id could produce',
    async (key) => {
      await expect(store.put(key, Readable.from([Buffer.from('x')]), { maxBytes: 10 })).rejects.toMatchObject({
        code: 'RAG_INVALID_OBJECT_KEY',
      });
      await expect(store.get(key)).rejects.toMatchObject({ code: 'RAG_INVALID_OBJECT_KEY' });
      await expect(store.delete(key)).rejects.toMatchObject({ code: 'RAG_INVALID_OBJECT_KEY' });
    },
  );
});
