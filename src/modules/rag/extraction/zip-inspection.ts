import { inflateRawSync } from 'node:zlib';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import type { ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_ENTRY_SIGNATURE = 0x02014b50;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const ZIP64_EXTRA_ID = 0x0001;
const EOCD_MIN_LENGTH = 22;
const MAX_COMMENT_LENGTH = 0xffff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** Small parts compress far better than 100:1 (a styles file of repeated tags); only big ones can hurt. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

const corrupt = (why: string) => new ExtractionError(RagErrorCode.ExtractionFailed, `The file is not a readable zip: ${why}`);

/**
 * Reads the central directory (the zip's own table of contents) without inflating anything.
 * Mammoth hands the buffer to JSZip, which inflates whatever it is asked for; this is the
 * only place that sees sizes before that happens.
 */
export function readZipEntries(bytes: Buffer, maxEntries: number): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(bytes);
  let entryCount = bytes.readUInt16LE(eocd + 10);
  let directorySize = bytes.readUInt32LE(eocd + 12);
  let directoryOffset = bytes.readUInt32LE(eocd + 16);
  if (bytes.readUInt16LE(eocd + 4) !== 0 || bytes.readUInt16LE(eocd + 6) !== 0) throw corrupt('multi-volume zips are not supported');

  if (entryCount === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX) {
    const zip64 = readZip64EndOfCentralDirectory(bytes, eocd);
    entryCount = zip64.entryCount;
    directorySize = zip64.directorySize;
    directoryOffset = zip64.directoryOffset;
  }
  if (entryCount > maxEntries) {
    throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The document's zip holds ${entryCount} entries (limit ${maxEntries})`);
  }
  if (directoryOffset + directorySize > bytes.length) throw corrupt('the central directory lies outside the file');

  const entries: ZipEntry[] = [];
  let offset = directoryOffset;
  for (let index = 0; index < entryCount; index++) {
    if (offset + 46 > bytes.length || bytes.readUInt32LE(offset) !== CENTRAL_ENTRY_SIGNATURE) throw corrupt('bad central directory entry');
    const nameLength = bytes.readUInt16LE(offset + 28);
    const extraLength = bytes.readUInt16LE(offset + 30);
    const commentLength = bytes.readUInt16LE(offset + 32);
    const end = offset + 46 + nameLength + extraLength + commentLength;
    if (end > bytes.length) throw corrupt('truncated central directory');
    const entry: ZipEntry = {
      name: bytes.toString('utf8', offset + 46, offset + 46 + nameLength),
      flags: bytes.readUInt16LE(offset + 8),
      method: bytes.readUInt16LE(offset + 10),
      compressedSize: bytes.readUInt32LE(offset + 20),
      uncompressedSize: bytes.readUInt32LE(offset + 24),
      localHeaderOffset: bytes.readUInt32LE(offset + 42),
    };
    applyZip64Extra(entry, bytes.subarray(offset + 46 + nameLength, offset + 46 + nameLength + extraLength));
    entries.push(entry);
    offset = end;
  }
  return entries;
}

function findEndOfCentralDirectory(bytes: Buffer): number {
  const lowest = Math.max(0, bytes.length - EOCD_MIN_LENGTH - MAX_COMMENT_LENGTH);
  for (let offset = bytes.length - EOCD_MIN_LENGTH; offset >= lowest; offset--) {
    if (bytes.readUInt32LE(offset) === EOCD_SIGNATURE) return offset;
  }
  throw corrupt('no end of central directory record');
}

function readZip64EndOfCentralDirectory(bytes: Buffer, eocd: number) {
  const locator = eocd - 20;
  if (locator < 0 || bytes.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE) throw corrupt('missing zip64 locator');
  const record = toSafeNumber(bytes.readBigUInt64LE(locator + 8));
  if (record + 56 > bytes.length || bytes.readUInt32LE(record) !== ZIP64_EOCD_SIGNATURE) throw corrupt('bad zip64 record');
  return {
    entryCount: toSafeNumber(bytes.readBigUInt64LE(record + 32)),
    directorySize: toSafeNumber(bytes.readBigUInt64LE(record + 40)),
    directoryOffset: toSafeNumber(bytes.readBigUInt64LE(record + 48)),
  };
}

/** Zip64 moves any 32-bit field set to 0xFFFFFFFF into an extra field, in a fixed order. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  const needs = [entry.uncompressedSize, entry.compressedSize, entry.localHeaderOffset].some((value) => value === U32_MAX);
  if (!needs) return;
  for (let offset = 0; offset + 4 <= extra.length;) {
    const id = extra.readUInt16LE(offset);
    const size = extra.readUInt16LE(offset + 2);
    if (id === ZIP64_EXTRA_ID) {
      let field = offset + 4;
      const next = () => {
        if (field + 8 > offset + 4 + size) throw corrupt('short zip64 extra field');
        const value = toSafeNumber(extra.readBigUInt64LE(field));
        field += 8;
        return value;
      };
      if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = next();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next();
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next();
      return;
    }
    offset += 4 + size;
  }
  throw corrupt('zip64 sizes without a zip64 extra field');
}

function toSafeNumber(value: bigint): number {
  // Anything past 2^53 bytes is a lie about a file we hold in memory; treat it as enormous.
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * Refuses a zip whose declared sizes are too large or too compressible (a decompression bomb),
 * then inflates each entry with its declared size as a hard ceiling, so an entry that lies
 * about its size is caught at that size instead of after it has filled memory.
 */
export function assertZipWithinLimits(bytes: Buffer, entries: ZipEntry[], limits: ExtractionLimits): void {
  let totalUncompressed = 0;
  let totalCompressed = 0;
  for (const entry of entries) {
    totalUncompressed += entry.uncompressedSize;
    totalCompressed += entry.compressedSize;
    if (exceedsRatio(entry.uncompressedSize, entry.compressedSize, limits.maxZipCompressionRatio)) {
      throw tooLarge(`entry ${JSON.stringify(entry.name)} expands ${ratio(entry)}:1 (limit ${limits.maxZipCompressionRatio}:1)`);
    }
  }
  if (totalUncompressed > limits.maxZipUncompressedBytes) {
    throw tooLarge(`it expands to ${totalUncompressed} bytes (limit ${limits.maxZipUncompressedBytes})`);
  }
  if (exceedsRatio(totalUncompressed, totalCompressed, limits.maxZipCompressionRatio)) {
    throw tooLarge(
      `it expands ${Math.round(totalUncompressed / Math.max(1, totalCompressed))}:1 (limit ${limits.maxZipCompressionRatio}:1)`,
    );
  }
  for (const entry of entries) verifyInflatedSize(bytes, entry);
}

function exceedsRatio(uncompressed: number, compressed: number, maxRatio: number): boolean {
  return uncompressed > RATIO_FLOOR_BYTES && uncompressed > compressed * maxRatio;
}

const ratio = (entry: ZipEntry) => Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize));

const tooLarge = (why: string) =>
  new ExtractionError(RagErrorCode.DocumentTooLarge, `The document is refused as a possible decompression bomb: ${why}`);

function verifyInflatedSize(bytes: Buffer, entry: ZipEntry): void {
  if (entry.flags & 0x01) throw corrupt(`entry ${JSON.stringify(entry.name)} is encrypted`);
  const local = entry.localHeaderOffset;
  if (local + 30 > bytes.length || bytes.readUInt32LE(local) !== LOCAL_HEADER_SIGNATURE) throw corrupt('bad local file header');
  const dataStart = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > bytes.length) throw corrupt(`entry ${JSON.stringify(entry.name)} is truncated`);

  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) throw corrupt(`stored entry ${JSON.stringify(entry.name)} has inconsistent sizes`);
    return;
  }
  if (entry.method !== METHOD_DEFLATE)
    throw corrupt(`entry ${JSON.stringify(entry.name)} uses unsupported compression method ${entry.method}`);
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(dataStart, dataEnd), { maxOutputLength: Math.max(1, entry.uncompressedSize) });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(`entry ${JSON.stringify(entry.name)} inflates past its declared ${entry.uncompressedSize} bytes`);
    }
    throw corrupt(`entry ${JSON.stringify(entry.name)} does not inflate (${(error as Error).message})`);
  }
  if (inflated.length !== entry.uncompressedSize) throw corrupt(`entry ${JSON.stringify(entry.name)} has the wrong size`);
}
