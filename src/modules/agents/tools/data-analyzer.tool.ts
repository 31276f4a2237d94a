import { HttpStatus } from '@nestjs/common';
import type * as Arquero from 'arquero';
import type * as SimpleStatistics from 'simple-statistics';
import { z } from 'zod';
import type { AgentTool, AgentToolContext, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import { toolFailed, toolInputTooLarge } from 'src/modules/agents/tools/agent-tool.exception';
import { callerOf, knowledgeBasesFor } from 'src/modules/agents/tools/knowledge-scope';
import { CellValue, DataFormat, guessFormat, parseTabular, TabularData } from 'src/modules/agents/tools/tabular-data';
import { jsonContent, truncateText } from 'src/modules/agents/tools/tool-output';
import { AppException } from 'src/common/errors/app.exception';
import { DocumentRead, KnowledgeRetriever } from 'src/modules/rag/grounding';
import { RagErrorCode } from 'src/modules/rag/rag.exception';

export const MAX_INLINE_DATA_CHARS = 1_000_000;
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
const MAX_GROUPS_RETURNED = 100;
const MAX_SAMPLE_ROWS = 5;
const MAX_SAMPLE_CELL_CHARS = 100;
const DEFAULT_QUANTILES = [0.25, 0.5, 0.75];
const MAX_STATISTICS_COLUMNS = 20;

interface Libraries {
  aq: typeof Arquero;
  stats: typeof SimpleStatistics;
}
let libraries: Promise<Libraries> | undefined;
/** arquero and simple-statistics (~30 MB resident together) load with the first analysis, not at boot. */
const loadLibraries = (): Promise<Libraries> =>
  (libraries ??= Promise.all([import('arquero'), import('simple-statistics')]).then(([aq, stats]) => ({ aq, stats })));

const AGGREGATE_FUNCTIONS = ['count', 'sum', 'mean', 'median', 'min', 'max', 'stddev'] as const;
type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

const columnName = z.string().min(1).max(200);

const argsSchema = z
  .strictObject({
    operation: z
      .enum(['describe', 'statistics', 'group_by', 'correlation'])
      .describe(
        'describe: columns, types and sample rows; statistics: count, sum, mean, median, min, max, stddev and quantiles of numeric columns; ' +
          'group_by: aggregations per group; correlation: Pearson correlation between numeric columns',
      ),
    data: z.string().min(1).max(MAX_INLINE_DATA_CHARS).optional().describe('Inline CSV (with a header row) or JSON (an array of objects)'),
    format: z.enum(['csv', 'json']).optional().describe('Format of data; guessed when absent'),
    document_id: z.uuid().optional().describe("A CSV or JSON document in the run's knowledge bases, instead of data"),
    knowledge_base_id: z.uuid().optional().describe('The knowledge base holding document_id (default: any of the run)'),
    columns: z
      .array(columnName)
      .min(1)
      .max(MAX_STATISTICS_COLUMNS)
      .optional()
      .describe('statistics: the numeric columns (default: all); correlation: two or more numeric columns'),
    group_by: z.array(columnName).min(1).max(3).optional().describe('group_by: the columns to group by'),
    aggregations: z
      .array(
        z.strictObject({
          function: z.enum(AGGREGATE_FUNCTIONS),
          column: columnName.optional().describe('The numeric column (count without one counts rows)'),
        }),
      )
      .min(1)
      .max(10)
      .optional()
      .describe('group_by: what to compute per group (default: count of rows)'),
    quantiles: z
      .array(z.number().min(0).max(1))
      .min(1)
      .max(9)
      .optional()
      .describe('statistics: quantiles to report (default 0.25, 0.5, 0.75)'),
  })
  .superRefine((args, ctx) => {
    if ((args.data === undefined) === (args.document_id === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: 'give exactly one of data (inline CSV or JSON) and document_id' });
    }
    if (args.knowledge_base_id !== undefined && args.document_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['knowledge_base_id'], message: 'knowledge_base_id only goes with document_id' });
    }
    if (args.operation === 'group_by' && !args.group_by) {
      ctx.addIssue({ code: 'custom', path: ['group_by'], message: 'group_by needs the columns to group by' });
    }
    if (args.operation === 'correlation' && (args.columns?.length ?? 0) < 2) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'correlation needs two or more columns' });
    }
  });

export type DataAnalyzerArgs = z.infer<typeof argsSchema>;

/**
 * Statistics and group-by over tabular data the user gave inline or that a CSV/JSON document
 * in the run's knowledge bases holds (read from the object store as uploaded). Tables and
 * group-by are arquero's; statistics are simple-statistics'. Column names only ever name
 * columns (arquero quotes them); no expression the model writes is compiled.
 */
export class DataAnalyzerTool implements AgentTool<DataAnalyzerArgs> {
  readonly name = 'data_analyzer' as const;
  readonly description =
    'Computes statistics (count, mean, median, min, max, stddev, quantiles, sum), group-by aggregations and correlations ' +
    "over CSV or JSON data given inline or held by a CSV/JSON document in the run's knowledge bases.";
  readonly argsSchema = argsSchema;

  constructor(private readonly knowledge: KnowledgeRetriever) {}

  isAvailable(): boolean {
    return true;
  }

  async run(args: DataAnalyzerArgs, context: AgentToolContext): Promise<AgentToolResult> {
    const source = args.data !== undefined ? inline(args.data, args.format) : await this.fromDocument(args, context);
    const data = parseTabular(source.text, source.format);
    const result = analyse(data, args, await loadLibraries());
    const body = { source: source.label, rows: data.rowCount, operation: args.operation, ...result };
    return { content: jsonContent(body), data: body };
  }

  private async fromDocument(
    args: DataAnalyzerArgs,
    context: AgentToolContext,
  ): Promise<{ text: string; format: DataFormat; label: string }> {
    const knowledgeBaseIds = knowledgeBasesFor(context, args.knowledge_base_id ? [args.knowledge_base_id] : undefined);
    let document: DocumentRead;
    try {
      document = await this.knowledge.readDocument({
        caller: callerOf(context),
        knowledgeBaseIds,
        documentId: args.document_id!,
        formats: ['csv', 'json'],
        maxBytes: MAX_DOCUMENT_BYTES,
      });
    } catch (error) {
      if (error instanceof AppException && error.code === NOT_IN_RUN) {
        throw toolFailed(`Document ${args.document_id} is not in the knowledge bases of this run`);
      }
      if (error instanceof AppException && error.status === HttpStatus.PAYLOAD_TOO_LARGE) throw tooLarge(error.message);
      throw error;
    }
    if (document.format !== 'csv' && document.format !== 'json') {
      throw toolFailed(`Document "${document.name}" is ${document.format}, not CSV or JSON; use document_search to read its text`);
    }
    if (document.contentBase64 === null) throw tooLarge(`Document "${document.name}" is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    const text = Buffer.from(document.contentBase64, 'base64')
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    return { text, format: document.format, label: `document "${document.name}"` };
  }
}

function inline(text: string, format: DataFormat | undefined): { text: string; format: DataFormat; label: string } {
  const resolved = format ?? guessFormat(text);
  return { text, format: resolved, label: `inline ${resolved}` };
}

function analyse(data: TabularData, args: DataAnalyzerArgs, { aq, stats }: Libraries): Record<string, unknown> {
  switch (args.operation) {
    case 'describe':
      return describe(data);
    case 'statistics':
      return { statistics: statistics(stats, data, args.columns, args.quantiles ?? DEFAULT_QUANTILES) };
    case 'group_by':
      return groupBy(aq, data, args.group_by!, args.aggregations ?? [{ function: 'count' }]);
    case 'correlation':
      return { correlations: correlations(stats, data, args.columns!) };
  }
}

function describe(data: TabularData) {
  const columns = data.names.map((name) => {
    const values = data.columns[name];
    const present = values.filter((value) => value !== null);
    return { name, type: data.types[name], missing: values.length - present.length, distinct: new Set(present).size };
  });
  const sample = Array.from({ length: Math.min(MAX_SAMPLE_ROWS, data.rowCount) }, (_, row) =>
    Object.fromEntries(data.names.map((name) => [name, sampleCell(data.columns[name][row])])),
  );
  return { columns, sample };
}

function statistics(stats: typeof SimpleStatistics, data: TabularData, requested: string[] | undefined, quantiles: number[]) {
  const { max, mean, median, min, quantileSorted, sampleStandardDeviation, sum } = stats;
  const names = requested ?? data.names.filter((name) => data.types[name] === 'number').slice(0, MAX_STATISTICS_COLUMNS);
  if (names.length === 0) throw toolFailed(`No column is numeric; columns: ${listNames(data)}`);
  return Object.fromEntries(
    names.map((name) => {
      const values = numbersOf(data, name);
      if (values.length === 0) return [name, { count: 0, missing: data.rowCount }];
      const sorted = [...values].sort((a, b) => a - b);
      return [
        name,
        {
          count: values.length,
          missing: data.rowCount - values.length,
          sum: round(sum(values)),
          mean: round(mean(values)),
          median: round(median(sorted)),
          min: min(values),
          max: max(values),
          stddev: values.length > 1 ? round(sampleStandardDeviation(values)) : null,
          quantiles: Object.fromEntries(quantiles.map((q) => [String(q), round(quantileSorted(sorted, q))])),
        },
      ];
    }),
  );
}

function groupBy(aq: typeof Arquero, data: TabularData, by: string[], aggregations: { function: AggregateFunction; column?: string }[]) {
  for (const name of by) requireColumn(data, name);
  const labels: string[] = [];
  const rollup: Record<string, object> = {};
  aggregations.forEach((aggregation, index) => {
    const column = aggregation.column;
    if (column !== undefined) requireColumn(data, column);
    if (aggregation.function !== 'count') {
      if (column === undefined) throw toolFailed(`${aggregation.function} needs a column`);
      requireNumeric(data, column);
    }
    labels.push(column === undefined ? 'count' : `${aggregation.function}(${column})`);
    // Our own output names: nothing the model wrote becomes part of a generated expression but quoted column names.
    rollup[`agg${index}`] = aggregateOf(aq, aggregation.function, column);
  });
  const grouped = aq
    .table(data.columns)
    .groupby(...by)
    .rollup(rollup)
    .orderby(...by);
  const groupCount = grouped.numRows();
  const groups = (grouped.objects({ limit: MAX_GROUPS_RETURNED }) as Record<string, unknown>[]).map((row) => ({
    ...Object.fromEntries(by.map((name) => [name, sampleCell(row[name] as CellValue)])),
    ...Object.fromEntries(labels.map((label, index) => [label, numberOrNull(row[`agg${index}`])])),
  }));
  return { groupBy: by, groupCount, ...(groupCount > groups.length ? { groupsShown: groups.length } : {}), groups };
}

/**
 * arquero's aggregate functions, called outside a table expression, return an op descriptor
 * naming the column (its typings describe their use inside expressions, hence the cast).
 */
function aggregateOf(aq: typeof Arquero, fn: AggregateFunction, column: string | undefined): object {
  const op = aq.op as unknown as Record<string, (field?: string) => object>;
  switch (fn) {
    case 'count':
      return column === undefined ? op.count() : op.valid(column);
    case 'stddev':
      return op.stdev(column);
    default:
      return op[fn](column);
  }
}

function correlations(stats: typeof SimpleStatistics, data: TabularData, names: string[]) {
  for (const name of names) requireNumeric(data, name);
  const pairs: { x: string; y: string; r: number | null; n: number }[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const xs: number[] = [];
      const ys: number[] = [];
      const x = data.columns[names[i]];
      const y = data.columns[names[j]];
      for (let row = 0; row < data.rowCount; row++) {
        if (typeof x[row] === 'number' && typeof y[row] === 'number') {
          xs.push(x[row] as number);
          ys.push(y[row] as number);
        }
      }
      const r = xs.length > 1 ? stats.sampleCorrelation(xs, ys) : NaN;
      pairs.push({ x: names[i], y: names[j], r: Number.isFinite(r) ? round(r) : null, n: xs.length });
    }
  }
  return pairs;
}

function requireColumn(data: TabularData, name: string): void {
  if (!Object.hasOwn(data.types, name)) throw toolFailed(`Unknown column "${name}"; columns: ${listNames(data)}`);
}

function requireNumeric(data: TabularData, name: string): void {
  requireColumn(data, name);
  if (data.types[name] === 'number') return;
  const values = data.columns[name];
  const row = values.findIndex((value) => value !== null);
  if (row === -1) throw toolFailed(`Column "${name}" has no values`);
  const example = values.find((value) => value !== null && !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(String(value)));
  throw toolFailed(`Column "${name}" is not numeric (it holds values such as ${JSON.stringify(sampleCell(example ?? null))})`);
}

function numbersOf(data: TabularData, name: string): number[] {
  requireNumeric(data, name);
  return data.columns[name].filter((value): value is number => typeof value === 'number');
}

function listNames(data: TabularData): string {
  const shown = data.names.slice(0, 30).map((name) => JSON.stringify(name));
  return shown.join(', ') + (data.names.length > shown.length ? `, … (${data.names.length} in all)` : '');
}

function sampleCell(value: CellValue | undefined): CellValue {
  if (typeof value === 'string') return truncateText(value, MAX_SAMPLE_CELL_CHARS);
  return value ?? null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? round(value) : null;
}

/** Twelve significant digits: no float noise like 0.30000000000000004 in what the model reads. */
function round(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(12)) : value;
}

/** The RAG role's answer when none of the run's knowledge bases holds the document. */
const NOT_IN_RUN: string = RagErrorCode.DocumentNotFound;

function tooLarge(message: string) {
  return toolInputTooLarge(`${message}, the most data_analyzer reads`);
}
