import type { VectorQuery, VectorRecord } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ID_LENGTH = 512;
export const MAX_SEARCH_LIMIT = 1000;

export interface VectorScope {
  workspaceId: string;
  knowledgeBaseId: string;
}

function invalid(message: string): RagException {
  return new RagException(RagErrorCode.InvalidVectorInput, message);
}

function checkUuid(name: string, value: string): void {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(`${name} must be a UUID`);
}

export function checkScope(scope: VectorScope, documentId?: string): void {
  checkUuid('workspaceId', scope.workspaceId);
  checkUuid('knowledgeBaseId', scope.knowledgeBaseId);
  if (documentId !== undefined) checkUuid('documentId', documentId);
}

export function checkDimension(dimension: number, maxDimension: number, store: string): void {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > maxDimension) {
    throw new RagException(
      RagErrorCode.VectorDimensionUnsupported,
      `${store} stores vectors of 1 to ${maxDimension} dimensions, not ${dimension}`,
    );
  }
}

/** Vectors must be finite and have a direction: cosine against a zero vector is undefined. */
function checkVector(vector: number[], dimension: number, what: string): void {
  if (!Array.isArray(vector) || vector.length !== dimension) {
    throw new RagException(
      RagErrorCode.VectorDimensionMismatch,
      `${what} has ${Array.isArray(vector) ? vector.length : 0} dimensions; expected ${dimension}`,
    );
  }
  let sumOfSquares = 0;
  for (const value of vector) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${what} holds a value that is not a finite number`);
    sumOfSquares += value * value;
  }
  if (sumOfSquares === 0) throw invalid(`${what} is all zeros and has no direction`);
}

export function checkRecords(records: VectorRecord[], dimension: number, maxDimension: number, store: string): void {
  checkDimension(dimension, maxDimension, store);
  const seen = new Set<string>();
  for (const record of records) {
    if (typeof record.id !== 'string' || record.id.length === 0 || record.id.length > MAX_ID_LENGTH) {
      throw invalid(`vector ids are 1 to ${MAX_ID_LENGTH} characters`);
    }
    // Two rows for one id in a single INSERT ... ON CONFLICT statement is an error in PostgreSQL.
    if (seen.has(record.id)) throw invalid(`vector id ${record.id} appears twice in one upsert`);
    seen.add(record.id);
    checkScope(record, record.documentId);
    checkVector(record.vector, dimension, `vector ${record.id}`);
  }
}

export function checkQuery(query: VectorQuery, maxDimension: number, store: string): void {
  checkScope(query);
  for (const documentId of query.documentIds ?? []) checkUuid('documentIds[]', documentId);
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_SEARCH_LIMIT) {
    throw invalid(`limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
  }
  checkDimension(query.vector?.length ?? 0, maxDimension, store);
  checkVector(query.vector, query.vector.length, 'the query vector');
}

/** Most ids one findVectors or deleteIds call takes, and the largest page of listKnowledgeBaseVectors. */
export const MAX_IDS_PER_CALL = 1000;

export function checkIds(ids: string[]): void {
  if (!Array.isArray(ids) || ids.length > MAX_IDS_PER_CALL) throw invalid(`at most ${MAX_IDS_PER_CALL} ids per call`);
  for (const id of ids) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)
      throw invalid(`vector ids are 1 to ${MAX_ID_LENGTH} characters`);
  }
}

export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_IDS_PER_CALL)
    throw invalid(`limit must be an integer from 1 to ${MAX_IDS_PER_CALL}`);
}

/** Page cursors are opaque to callers: base64url of a JSON value each store checks on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('the page cursor is not one this store returned');
  }
  if (!isValid(value)) throw invalid('the page cursor is not one this store returned');
  return value;
}

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
export const isVectorId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
export const isDimension = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1;
