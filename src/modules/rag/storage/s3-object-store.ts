import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type * as S3Sdk from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ObjectStore, type StoredObject } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { checkObjectKey, payloadTooLarge, storedFileMissing } from 'src/modules/rag/storage/object-key';

/** S3's smallest part (all but the last); files up to one part go up in a single PutObject. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Files are never served from the bucket, whatever the client said they were: no stored HTML for a public bucket to render. */
const STORED_CONTENT_TYPE = 'application/octet-stream';

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible server; unset for AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Unset: the SDK's default chain (AWS_* variables, shared config, instance or pod role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Prepended to every key with a `/`; '' for none. */
  prefix: string;
  /** Bytes buffered per part (at least 5 MiB); one part's worth is all an upload holds in memory. */
  partSizeBytes?: number;
  /** Connection and idle-socket timeouts, in milliseconds. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

interface Sdk {
  module: typeof S3Sdk;
  client: S3Sdk.S3Client;
}

interface MultipartUpload {
  id: string;
  parts: S3Sdk.CompletedPart[];
}

/**
 * Files in an S3-compatible bucket. The SDK (~22 MB resident) is imported on first use, so
 * deployments on the local store never load it. Uploads stream: bytes are hashed and counted
 * as they arrive and sent one part at a time (a single PutObject up to one part, multipart
 * beyond), so memory stays at one part whatever the file size, and an upload that fails or
 * passes the limit is aborted before anything becomes visible under the key.
 */
export class S3ObjectStore extends ObjectStore implements OnApplicationShutdown {
  private readonly logger = new Logger(S3ObjectStore.name);
  private readonly partSize: number;
  private loading: Promise<Sdk> | null = null;

  constructor(private readonly options: S3ObjectStoreOptions) {
    super();
    this.partSize = Math.max(options.partSizeBytes ?? DEFAULT_PART_BYTES, S3_MIN_PART_BYTES);
    if (options.prefix !== '') checkObjectKey(options.prefix);
  }

  /** Loads the SDK and checks the bucket, once at boot; a bucket that does not answer is logged, not fatal (it may come up later). */
  async connect(): Promise<void> {
    const where = `S3 bucket ${this.options.bucket} ${this.options.endpoint ? `at ${hostOf(this.options.endpoint)}` : `in ${this.options.region}`}`;
    try {
      const { module, client } = await this.sdk();
      await client.send(new module.HeadBucketCommand({ Bucket: this.options.bucket }));
      this.logger.log(`Uploaded files go to ${where}${this.options.prefix ? ` under ${this.options.prefix}/` : ''}`);
    } catch (error) {
      const status = statusOf(error);
      const reason = status === 404 ? 'no such bucket (404)' : status === 403 ? 'access denied (403)' : describe(error);
      this.logger.warn(`${where} is not usable yet: ${reason}; uploads will fail until it is`);
    }
  }

  async put(key: string, body: Readable, options: { maxBytes: number; contentType?: string }): Promise<StoredObject> {
    const objectKey = this.objectKey(key);
    // A part count of at most 10,000 must still cover the largest allowed file.
    const partSize = Math.max(this.partSize, Math.ceil(options.maxBytes / MAX_PARTS));
    const hash = createHash('sha256');
    let sizeBytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let upload: MultipartUpload | null = null;
    const sdk = await this.sdk();
    try {
      for await (const chunk of body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        sizeBytes += bytes.length;
        if (sizeBytes > options.maxBytes) throw payloadTooLarge(options.maxBytes);
        hash.update(bytes);
        pending.push(bytes);
        pendingBytes += bytes.length;
        if (pendingBytes >= partSize) {
          upload ??= await this.startMultipart(sdk, objectKey);
          await this.uploadPart(sdk, objectKey, upload, Buffer.concat(pending, pendingBytes));
          pending = [];
          pendingBytes = 0;
        }
      }
      const rest = Buffer.concat(pending, pendingBytes);
      if (upload === null) {
        await call(() =>
          sdk.client.send(
            new sdk.module.PutObjectCommand({
              Bucket: this.options.bucket,
              Key: objectKey,
              Body: rest,
              ContentLength: rest.length,
              ContentType: STORED_CONTENT_TYPE,
            }),
          ),
        );
      } else {
        if (rest.length > 0) await this.uploadPart(sdk, objectKey, upload, rest);
        const { id, parts } = upload;
        await call(() =>
          sdk.client.send(
            new sdk.module.CompleteMultipartUploadCommand({
              Bucket: this.options.bucket,
              Key: objectKey,
              UploadId: id,
              MultipartUpload: { Parts: parts },
            }),
          ),
        );
      }
    } catch (error) {
      // The client's stream failing (it went away) keeps its own error; S3's were made 503s by call().
      body.destroy();
      if (upload) await this.abort(sdk, objectKey, upload);
      throw error;
    }
    return { key, sizeBytes, sha256: hash.digest('hex') };
  }

  async get(key: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    const { module, client } = await this.sdk();
    try {
      const response = await client.send(new module.GetObjectCommand({ Bucket: this.options.bucket, Key: objectKey }));
      return response.Body as Readable;
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') throw storedFileMissing();
      throw unavailable(error);
    }
  }

  /** S3 answers a delete of a missing key with success, so deleting twice is fine. */
  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    const { module, client } = await this.sdk();
    await call(() => client.send(new module.DeleteObjectCommand({ Bucket: this.options.bucket, Key: objectKey })));
  }

  async exists(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    const { module, client } = await this.sdk();
    try {
      await client.send(new module.HeadObjectCommand({ Bucket: this.options.bucket, Key: objectKey }));
      return true;
    } catch (error) {
      // HEAD has no body, so a missing key is a bare 404 ("NotFound").
      if (statusOf(error) === 404) return false;
      throw unavailable(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.loading) return;
    const sdk = await this.loading.catch(() => null);
    sdk?.client.destroy();
  }

  private objectKey(key: string): string {
    checkObjectKey(key);
    return this.options.prefix === '' ? key : `${this.options.prefix}/${key}`;
  }

  private sdk(): Promise<Sdk> {
    if (!this.loading) {
      this.loading = this.load();
      this.loading.catch(() => (this.loading = null));
    }
    return this.loading;
  }

  private async load(): Promise<Sdk> {
    const module = await import('@aws-sdk/client-s3');
    const settings = this.options;
    const client = new module.S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      // Checksums only where S3 requires them: S3-compatible servers differ in which of the newer
      // checksum headers and aws-chunked trailers they accept. Each file's SHA-256 is computed here.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: settings.connectionTimeoutMs ?? 10_000,
        requestTimeout: settings.requestTimeoutMs ?? 60_000,
      },
    });
    return { module, client };
  }

  private async startMultipart(sdk: Sdk, objectKey: string): Promise<MultipartUpload> {
    const started = await call(() =>
      sdk.client.send(
        new sdk.module.CreateMultipartUploadCommand({ Bucket: this.options.bucket, Key: objectKey, ContentType: STORED_CONTENT_TYPE }),
      ),
    );
    if (!started.UploadId) throw unavailable(new Error('CreateMultipartUpload returned no upload id'));
    return { id: started.UploadId, parts: [] };
  }

  private async uploadPart(sdk: Sdk, objectKey: string, upload: MultipartUpload, bytes: Buffer): Promise<void> {
    const PartNumber = upload.parts.length + 1;
    const { ETag } = await call(() =>
      sdk.client.send(
        new sdk.module.UploadPartCommand({
          Bucket: this.options.bucket,
          Key: objectKey,
          UploadId: upload.id,
          PartNumber,
          Body: bytes,
          ContentLength: bytes.length,
        }),
      ),
    );
    upload.parts.push({ ETag, PartNumber });
  }

  /** Best effort: an abort that fails leaves invisible parts, which a bucket lifecycle rule for incomplete uploads removes. */
  private async abort(sdk: Sdk, objectKey: string, upload: MultipartUpload): Promise<void> {
    try {
      await sdk.client.send(
        new sdk.module.AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: objectKey, UploadId: upload.id }),
      );
    } catch (error) {
      this.logger.warn(`Could not abort the multipart upload of ${objectKey}: ${describe(error)}`);
    }
  }
}

/** For log lines: the endpoint without anything a URL might carry besides its host. */
function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return 'the configured endpoint';
  }
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | null)?.name;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function describe(error: unknown): string {
  const name = errorName(error);
  const message = (error as Error | null)?.message ?? String(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** S3 down or refusing (credentials, a missing bucket) is a 503 naming S3's error, never an anonymous 500. */
function unavailable(error: unknown): RagException {
  return new RagException(RagErrorCode.ObjectStoreUnavailable, `S3 request failed: ${describe(error)}`);
}

async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw unavailable(error);
  }
}
