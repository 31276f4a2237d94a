import { parse as parseCsv } from 'csv-parse/sync';
import { toolFailed, toolInputTooLarge } from 'src/modules/agents/tools/agent-tool.exception';

/**
 * CSV or JSON rows turned into typed columns. A column is numeric when every non-empty value
 * in it is a number (JSON numbers, or CSV text that reads as one); empty cells are null and
 * count as missing. Everything else stays text. Caps keep a hostile or careless input from
 * costing more than a bounded amount of memory and time.
 */

export const MAX_ROWS = 50_000;
export const MAX_COLUMNS = 100;
const MAX_CELL_CHARS = 10_000;
const MAX_COLUMN_NAME_CHARS = 200;

export type CellValue = number | string | null;
export type ColumnType = 'number' | 'text';

export interface TabularData {
  names: string[];
  types: Record<string, ColumnType>;
  /** One array per column, all `rowCount` long. */
  columns: Record<string, CellValue[]>;
  rowCount: number;
}

export type DataFormat = 'csv' | 'json';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function guessFormat(text: string): DataFormat {
  const first = text.trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

export function parseTabular(text: string, format: DataFormat): TabularData {
  const raw = format === 'csv' ? csvRows(text) : jsonRows(text);
  return typed(raw.names, raw.rows);
}

interface RawRows {
  names: string[];
  rows: unknown[][];
}

function csvRows(text: string): RawRows {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = [',', ';', '\t'].reduce((best, candidate) => (count(firstLine, candidate) > count(firstLine, best) ? candidate : best));
  let records: string[][];
  try {
    records = parseCsv(text, {
      bom: true,
      delimiter,
      skip_empty_lines: true,
      trim: true,
      relax_quotes: true,
      // One header row plus at most MAX_ROWS, and one more to tell that there were too many.
      to: MAX_ROWS + 2,
      max_record_size: MAX_CELL_CHARS * 4,
    });
  } catch (error) {
    throw toolFailed(`The CSV could not be read: ${(error as Error).message}`);
  }
  if (records.length === 0) throw toolFailed('The CSV is empty');
  const [header, ...rows] = records;
  if (rows.length > MAX_ROWS) throw toolInputTooLarge(`The data has more than ${MAX_ROWS} rows`);
  // csv-parse has already refused rows whose field count differs from the header's.
  return { names: header.map((name, index) => name || `column${index + 1}`), rows };
}

function jsonRows(text: string): RawRows {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw toolFailed(`The JSON could not be read: ${(error as Error).message}`);
  }
  // `{"rows": [...]}`: a wrapper object holding one array of records.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const arrays = Object.values(value).filter(Array.isArray);
    if (arrays.length !== 1) throw toolFailed('The JSON must be an array of objects (or an object holding exactly one such array)');
    value = arrays[0];
  }
  if (!Array.isArray(value)) throw toolFailed('The JSON must be an array of objects');
  if (value.length > MAX_ROWS) throw toolInputTooLarge(`The data has more than ${MAX_ROWS} rows`);
  const names: string[] = [];
  const seen = new Set<string>();
  (value as unknown[]).forEach((record, index) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw toolFailed(`Item ${index + 1} of the JSON array is not an object`);
    }
    for (const name of Object.keys(record)) {
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
    }
    if (names.length > MAX_COLUMNS) throw toolInputTooLarge(`The data has more than ${MAX_COLUMNS} columns`);
  });
  const rows = (value as Record<string, unknown>[]).map((record) => names.map((name) => record[name]));
  return { names, rows };
}

function typed(names: string[], rows: unknown[][]): TabularData {
  if (names.length > MAX_COLUMNS) throw toolInputTooLarge(`The data has more than ${MAX_COLUMNS} columns`);
  const unique = new Set<string>();
  for (const name of names) {
    if (name.length > MAX_COLUMN_NAME_CHARS) throw toolFailed(`A column name is longer than ${MAX_COLUMN_NAME_CHARS} characters`);
    if (unique.has(name)) throw toolFailed(`The column name "${name}" appears twice`);
    unique.add(name);
  }
  // Keys are column names from the data: no prototype for a column named __proto__ to reach.
  const columns = Object.create(null) as Record<string, CellValue[]>;
  const types = Object.create(null) as Record<string, ColumnType>;
  names.forEach((name, index) => {
    const cells = rows.map((row) => cell(row[index]));
    const numeric = cells.every((value) => value === null || typeof value === 'number' || NUMBER.test(value));
    const hasValue = cells.some((value) => value !== null);
    types[name] = numeric && hasValue ? 'number' : 'text';
    columns[name] = numeric && hasValue ? cells.map((value) => (value === null ? null : Number(value))) : cells.map(textOf);
  });
  return { names, types, columns, rowCount: rows.length };
}

function cell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed.slice(0, MAX_CELL_CHARS);
  }
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(value).slice(0, MAX_CELL_CHARS);
}

function textOf(value: CellValue): string | null {
  return value === null ? null : String(value);
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}
