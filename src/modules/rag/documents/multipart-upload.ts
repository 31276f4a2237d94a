import { HttpStatus } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

export const UPLOAD_FIELD = 'file';
/** Enough for format detection to tell a DOCX from other zips (see detectFormat). */
export const HEAD_BYTES = 64 * 1024;

export interface IncomingUpload {
  /** As the client sent it: shown to users, never used in a path. */
  fileName: string;
  contentType: string | null;
  /** The first HEAD_BYTES bytes (fewer for a smaller file), for format detection. */
  head: Buffer;
  /** The whole file, head included. Errors in the client's multipart encoding surface as 400. */
  body: Readable;
}

const malformed = (message: string) => new AppException(CommonErrorCode.MalformedBody, HttpStatus.BAD_REQUEST, message);

/**
 * The single file part of a multipart/form-data request, as a stream. The size limit is
 * enforced by whoever consumes the stream (the object store counts bytes); busboy is told
 * one byte more so that it never truncates silently first.
 */
export async function readUpload(request: FastifyRequest, maxBytes: number): Promise<IncomingUpload> {
  if (!request.isMultipart()) {
    throw new AppException(
      CommonErrorCode.UnsupportedMediaType,
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      `Upload the file as multipart/form-data in a part named "${UPLOAD_FIELD}"`,
    );
  }
  let part: Awaited<ReturnType<FastifyRequest['file']>>;
  try {
    part = await request.file({
      limits: { fileSize: maxBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 11 },
      throwFileSizeLimit: false,
      // The name is shown as sent; it is never used as a path, so there is nothing to strip.
      preservePath: true,
    });
  } catch (error) {
    throw asClientError(error);
  }
  if (!part) throw new RagException(RagErrorCode.UploadMissingFile, `The request has no file part named "${UPLOAD_FIELD}"`);
  const extra = Object.keys(part.fields).filter((name) => name !== part.fieldname);
  if (part.fieldname !== UPLOAD_FIELD || extra.length > 0) {
    part.file.resume();
    const names = [part.fieldname, ...extra].filter((name) => name !== UPLOAD_FIELD);
    throw new RagException(
      RagErrorCode.UploadMissingFile,
      `Send one part named "${UPLOAD_FIELD}"; unexpected part(s): ${names.join(', ')}`,
    );
  }
  const { head, body } = await peek(part.file, HEAD_BYTES);
  return { fileName: part.filename, contentType: part.mimetype || null, head, body };
}

/** Reads the first `bytes` of a stream and returns them with a stream of the whole. */
export async function peek(source: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const next = async () => {
    try {
      return await iterator.next();
    } catch (error) {
      throw asClientError(error);
    }
  };
  const buffered: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < bytes) {
    const result = await next();
    if (result.done) {
      ended = true;
      break;
    }
    buffered.push(result.value);
    size += result.value.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* buffered;
      if (ended) return;
      for (;;) {
        const result = await next();
        if (result.done) return;
        yield result.value;
      }
    } finally {
      // Stopped early (a limit, a failed write): release the source too.
      await iterator.return?.();
    }
  }
  return { head: Buffer.concat(buffered).subarray(0, bytes), body: Readable.from(replay(), { objectMode: false }) };
}

/** Busboy reports a client's broken encoding as plain errors; they are the client's, not ours. */
function asClientError(error: unknown): unknown {
  if (error instanceof AppException) return error;
  const fastifyError = error as { code?: string; statusCode?: number };
  if (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('FST_') && typeof fastifyError.statusCode === 'number')
    return error;
  return malformed(`The multipart body is malformed: ${error instanceof Error ? error.message : 'unreadable'}`);
}
