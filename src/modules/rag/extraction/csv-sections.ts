import { parse } from 'csv-parse/sync';
import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import type { ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';

/** Rows per section: sections bound chunks, so a chunk holds whole rows of one block. */
export const CSV_ROWS_PER_SECTION = 20;
const DELIMITERS = [',', ';', '\t', '|'];

/**
 * The first row is the header. Each row becomes `column: value` lines (empty cells left out),
 * so any chunk of rows explains itself without the header row; sections of
 * {@link CSV_ROWS_PER_SECTION} rows carry `Rows a-b` as their heading.
 */
export function csvToSections(csv: string, limits: ExtractionLimits): ExtractedSection[] {
  const records = parseRecords(csv, limits);
  if (records.length === 0) return [];
  const header = records[0].map((name, index) => name.trim() || `column ${index + 1}`);
  const rows = records.slice(1);
  if (rows.length > limits.maxCsvRows) {
    throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The CSV has more than ${limits.maxCsvRows} rows`);
  }
  if (rows.length === 0) return [{ text: header.join(', '), page: null, headings: [] }];

  const sections: ExtractedSection[] = [];
  for (let first = 0; first < rows.length; first += CSV_ROWS_PER_SECTION) {
    const block = rows.slice(first, first + CSV_ROWS_PER_SECTION);
    const text = block.map((row, offset) => renderRow(header, row, first + offset + 1)).join('\n\n');
    sections.push({ text, page: null, headings: [`Rows ${first + 1}-${first + block.length}`] });
  }
  return sections;
}

function parseRecords(csv: string, limits: ExtractionLimits): string[][] {
  try {
    return parse(csv, {
      delimiter: guessDelimiter(csv),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      relax_quotes: true,
      // One past the limit is enough to know it is exceeded, without parsing the rest.
      to: limits.maxCsvRows + 2,
      on_record: (record: string[]) => {
        if (record.length > limits.maxCsvColumns) {
          throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The CSV has more than ${limits.maxCsvColumns} columns`);
        }
        return record;
      },
    });
  } catch (error) {
    if (error instanceof ExtractionError) throw error;
    throw new ExtractionError(RagErrorCode.ExtractionFailed, `The CSV could not be parsed: ${(error as Error).message}`);
  }
}

function renderRow(header: string[], row: string[], rowNumber: number): string {
  const lines = [`Row ${rowNumber}`];
  row.forEach((value, index) => {
    const cell = value.trim();
    if (cell) lines.push(`${header[index] ?? `column ${index + 1}`}: ${cell}`);
  });
  return lines.join('\n');
}

/** The candidate that occurs most often on the header line (commas when none does). */
function guessDelimiter(csv: string): string {
  const firstLine = csv.slice(0, csv.indexOf('\n') === -1 ? csv.length : csv.indexOf('\n'));
  let best = ',';
  let bestCount = 0;
  for (const delimiter of DELIMITERS) {
    const count = firstLine.split(delimiter).length - 1;
    if (count > bestCount) {
      best = delimiter;
      bestCount = count;
    }
  }
  return best;
}
