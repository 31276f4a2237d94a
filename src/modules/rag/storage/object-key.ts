import { HttpStatus } from '@nestjs/common';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

/** Segments of ids and fixed words joined by `/`: what the module generates, and nothing a path could escape with. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/;
export const MAX_OBJECT_KEY_LENGTH = 512;

/**
 * Keys are generated from ids, yet every store checks them anyway: a bug upstream must not
 * become a path traversal on disk or a write outside the store's prefix in a bucket.
 */
export function checkObjectKey(key: string): string {
  if (typeof key !== 'string' || key.length > MAX_OBJECT_KEY_LENGTH || !KEY.test(key)) {
    throw new RagException(RagErrorCode.InvalidObjectKey, 'Invalid storage key');
  }
  return key;
}

export const payloadTooLarge = (maxBytes: number) =>
  new AppException(CommonErrorCode.PayloadTooLarge, HttpStatus.PAYLOAD_TOO_LARGE, `The file is larger than the limit of ${maxBytes} bytes`);

export const storedFileMissing = () =>
  new RagException(RagErrorCode.StoredFileMissing, "The document's stored file is missing from the object store; upload it again");
