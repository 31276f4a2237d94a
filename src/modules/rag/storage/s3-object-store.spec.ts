import { ListObjectsV2Command, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from 'src/config/app-config';
import { openObjectStore } from 'src/modules/rag/storage/object-store.provider';
import { describeObjectStoreContract } from 'src/modules/rag/storage/object-store.contract';
import { S3_MIN_PART_BYTES, S3ObjectStore, type S3ObjectStoreOptions } from 'src/modules/rag/storage/s3-object-store';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from 'test/support/s3-server';

const MiB = 1024 * 1024;

let server: Promise<TestS3Server> | null = null;
const s3 = () => (server ??= startS3Server('gremlins-objects'));

afterAll(async () => {
  if (server) await (await server).close();
});

function clientFor(endpoint: string) {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
}

async function keysIn(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

function optionsFor(target: TestS3Server, overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  return {
    bucket: target.bucket,
    region: 'us-east-1',
    endpoint: target.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    prefix: '',
    partSizeBytes: S3_MIN_PART_BYTES,
    ...overrides,
  };
}

describeObjectStoreContract('S3 (s3rver), under a key prefix', async () => {
  const target = await s3();
  const prefix = `run-${randomBytes(4).toString('hex')}/files`;
  const store = new S3ObjectStore(optionsFor(target, { prefix }));
  const client = clientFor(target.endpoint);
  return {
    store,
    listKeys: async () => {
      const keys = await keysIn(client, target.bucket);
      // Nothing may land outside the prefix.
      expect(keys.filter((key) => !key.startsWith(`${prefix}/`) && !key.startsWith('run-'))).toEqual([]);
      return keys.filter((key) => key.startsWith(`${prefix}/`)).map((key) => key.slice(prefix.length + 1));
    },
    close: async () => {
      await store.onApplicationShutdown();
      client.destroy();
    },
  };
});

/** Forwards to s3rver unchanged and records which S3 operation each request was. */
async function recordingProxy(target: string): Promise<{ endpoint: string; requests: string[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const proxy: Server = createServer((incoming, outgoing) => {
    const query = new URL(incoming.url!, 'http://x').searchParams;
    const operation = query.has('uploads')
      ? 'CreateMultipartUpload'
      : query.has('partNumber')
        ? 'UploadPart'
        : query.has('uploadId')
          ? incoming.method === 'DELETE'
            ? 'AbortMultipartUpload'
            : 'CompleteMultipartUpload'
          : `${incoming.method}`;
    requests.push(operation);
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

describe('S3ObjectStore specifics', () => {
  let target: TestS3Server;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let client: S3Client;
  const stores: S3ObjectStore[] = [];
  const storeWith = (overrides: Partial<S3ObjectStoreOptions> = {}) => {
    const store = new S3ObjectStore(optionsFor(target, { endpoint: proxy.endpoint, ...overrides }));
    stores.push(store);
    return store;
  };
  const key = () => `workspaces/${randomBytes(6).toString('hex')}/kb/k/d`;
  const streamOf = (bytes: Buffer) =>
    Readable.from(Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536)));

  beforeAll(async () => {
    target = await s3();
    proxy = await recordingProxy(target.endpoint);
    client = clientFor(target.endpoint);
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });
  afterAll(async () => {
    for (const store of stores) await store.onApplicationShutdown();
    client?.destroy();
    await proxy?.close();
  });

  it('sends a file up to one part as a single PutObject, and a larger one as parts of the configured size', async () => {
    const store = storeWith();
    await store.put(key(), streamOf(randomBytes(S3_MIN_PART_BYTES - 1)), { maxBytes: 20 * MiB });
    expect(proxy.requests).toEqual(['PUT']);
    proxy.requests.length = 0;
    await store.put(key(), streamOf(randomBytes(11 * MiB)), { maxBytes: 20 * MiB });
    expect(proxy.requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
  });

  it('aborts the multipart upload when the file passes the limit after parts were sent, and completes nothing', async () => {
    const store = storeWith();
    const name = key();
    await expect(store.put(name, streamOf(randomBytes(13 * MiB)), { maxBytes: 12 * MiB })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(proxy.requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'AbortMultipartUpload']);
    expect(await store.exists(name)).toBe(false);
  });

  it('grows the part size so that the largest allowed file fits in 10,000 parts', async () => {
    const store = storeWith();
    // 60 GiB allowed: parts must be at least 6 MiB, so 11 MiB goes up as one full part and a tail.
    await store.put(key(), streamOf(randomBytes(11 * MiB)), { maxBytes: 60 * 1024 * MiB });
    expect(proxy.requests).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
  });

  it('stores every file as application/octet-stream, whatever the client called it', async () => {
    const store = storeWith();
    const name = key();
    await store.put(name, Readable.from([Buffer.from('<script>alert(1)</script>')]), { maxBytes: 100, contentType: 'text/html' });
    const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: name }));
    expect(head.ContentType).toBe('application/octet-stream');
  });

  it('turns S3 refusing into 503 RAG_OBJECT_STORE_UNAVAILABLE naming its error, and keeps the caller going', async () => {
    const missingBucket = storeWith({ bucket: 'no-such-bucket' });
    await missingBucket.connect(); // logged, not thrown: the bucket may be created after the app starts
    await expect(missingBucket.put(key(), Readable.from([Buffer.from('x')]), { maxBytes: 10 })).rejects.toMatchObject({
      status: 503,
      code: 'RAG_OBJECT_STORE_UNAVAILABLE',
      message: expect.stringContaining('NoSuchBucket'),
    });
    const unknownKey = storeWith({ credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'wrong' } });
    await expect(unknownKey.put(key(), Readable.from([Buffer.from('x')]), { maxBytes: 10 })).rejects.toMatchObject({
      code: 'RAG_OBJECT_STORE_UNAVAILABLE',
      message: expect.stringContaining('InvalidAccessKeyId'),
    });
    // A refused HEAD is not "missing": it must not read as exists() === false.
    await expect(unknownKey.exists(key())).rejects.toMatchObject({ code: 'RAG_OBJECT_STORE_UNAVAILABLE' });
    const nobody = storeWith({ endpoint: 'http://127.0.0.1:9', connectionTimeoutMs: 1_000 });
    await expect(nobody.get(key())).rejects.toMatchObject({ code: 'RAG_OBJECT_STORE_UNAVAILABLE', message: /S3 request failed/ });
  });

  it('refuses a key prefix that is not made of plain segments', () => {
    expect(() => new S3ObjectStore(optionsFor(target, { prefix: '../x' }))).toThrow('Invalid storage key');
  });
});

describe('choosing the object store from configuration', () => {
  const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(16) + 'abcdefghijklmnopqrstuvwxyz' };

  it('uses DATA_DIR/objects by default', () => {
    const config = loadConfig({ ...base, DATA_DIR: '/tmp/gremlins-config' });
    expect(config.objectStore).toEqual({ kind: 'local', root: '/tmp/gremlins-config/objects' });
  });

  it('reads the S3 settings, with path-style addressing on by default for a custom endpoint only', () => {
    const config = loadConfig({
      ...base,
      OBJECT_STORE: 's3',
      S3_BUCKET: 'gremlins-files',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_PREFIX: '/prod/files/',
    });
    expect(config.objectStore).toEqual({
      kind: 's3',
      bucket: 'gremlins-files',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      prefix: 'prod/files',
    });
    const aws = loadConfig({ ...base, OBJECT_STORE: 's3', S3_BUCKET: 'gremlins-files', S3_REGION: 'eu-west-1' });
    expect(aws.objectStore).toMatchObject({ forcePathStyle: false, credentials: undefined, endpoint: undefined, region: 'eu-west-1' });
    expect(
      loadConfig({ ...base, OBJECT_STORE: 's3', S3_BUCKET: 'b-1', S3_ENDPOINT: 'http://m:9000', S3_FORCE_PATH_STYLE: 'false' }).objectStore,
    ).toMatchObject({ forcePathStyle: false });
  });

  it.each([
    [{ OBJECT_STORE: 's3' }, 'OBJECT_STORE: s3 needs S3_BUCKET'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'ab' }, 'S3_BUCKET: a bucket name'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'Upper_Case' }, 'S3_BUCKET: a bucket name'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_ACCESS_KEY_ID: 'id' }, 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT: must be a URL'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_ENDPOINT: 'http://' }, 'S3_ENDPOINT: must be a valid URL'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_ENDPOINT: 'http://key:secret@minio:9000' }, 'S3_ENDPOINT: must not contain credentials'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_ENDPOINT: 'http://minio:9000/files' }, 'S3_ENDPOINT: must be a base URL'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_PREFIX: 'a/../b' }, 'S3_PREFIX: path segments'],
    [{ OBJECT_STORE: 'gcs' }, 'OBJECT_STORE'],
    [{ OBJECT_STORE: 's3', S3_BUCKET: 'files', S3_FORCE_PATH_STYLE: 'yes' }, 'S3_FORCE_PATH_STYLE'],
  ])('refuses %j at boot with a clear message', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('opens the configured store, checking the bucket', async () => {
    const target = await s3();
    const config = loadConfig({ ...base, ...target.env('boot') });
    const store = openObjectStore(config.objectStore);
    expect(store).toBeInstanceOf(S3ObjectStore);
    const stored = await store.put('workspaces/w/kb/k/d', Readable.from([Buffer.from('boot check')]), { maxBytes: 100 });
    expect(stored.sizeBytes).toBe(10);
    expect(await keysIn(clientFor(target.endpoint), target.bucket)).toContain('boot/workspaces/w/kb/k/d');
    await (store as S3ObjectStore).onApplicationShutdown();
  });
});

describe('memory: the S3 SDK is loaded only when the S3 store is used', () => {
  it('is absent after loading the whole application, and present once an S3 store makes its first call', async () => {
    // A fresh process: the test runner itself has loaded the SDK above.
    const script = `
      const count = () => Object.keys(require.cache).filter((id) => id.includes('@aws-sdk/client-s3')).length;
      require('./src/app');
      const atBoot = count();
      const { S3ObjectStore } = require('./src/modules/rag/storage/s3-object-store');
      const afterImport = count();
      const store = new S3ObjectStore({ bucket: 'b-1', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, prefix: '', connectionTimeoutMs: 500 });
      store.exists('a/b').catch(() => undefined).then(() => {
        console.log(JSON.stringify({ atBoot, afterImport, afterFirstCall: count() }));
        process.exit(0);
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 120_000,
    });
    const counts = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
    expect(counts.atBoot).toBe(0);
    expect(counts.afterImport).toBe(0);
    expect(counts.afterFirstCall).toBeGreaterThan(0);
  }, 150_000);
});
