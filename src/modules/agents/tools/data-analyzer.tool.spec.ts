import { describe, expect, it } from 'vitest';
import { Permission } from 'src/common/auth/permission.enum';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';
import { DataAnalyzerTool } from 'src/modules/agents/tools/data-analyzer.tool';
import { MAX_ROWS, parseTabular } from 'src/modules/agents/tools/tabular-data';
import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import type { DocumentRead, DocumentReadRequest, KnowledgeRetriever } from 'src/modules/rag/grounding';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

const SALES_CSV = [
  'region,product,units,price',
  'north,apple,10,1.5',
  'north,pear,4,2.0',
  'south,apple,7,1.25',
  'south,apple,3,1.75',
  'east,pear,,2.5',
].join('\n');

const context = (permissions: Permission[] = [Permission.KnowledgeBaseRead], knowledgeBaseIds: string[] = []): AgentToolContext => ({
  auth: { workspaceId: 'w', userId: 'u', permissions: new Set(permissions) } as unknown as AgentToolContext['auth'],
  knowledgeBaseIds,
  signal: new AbortController().signal,
});

// Inline data never touches storage: these stand-ins fail the test if it does.
const untouchable = new Proxy(
  {},
  {
    get: () => {
      throw new Error('storage must not be used for inline data');
    },
  },
);
const tool = new DataAnalyzerTool(untouchable as KnowledgeRetriever);
const analyse = async (args: Record<string, unknown>) => JSON.parse((await tool.run(tool.argsSchema.parse(args), context())).content);

async function failure(args: Record<string, unknown>): Promise<AgentToolException> {
  const error = await tool.run(tool.argsSchema.parse(args), context()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AgentToolException);
  return error as AgentToolException;
}

describe('data_analyzer tool', () => {
  it('describes columns, their types and a sample', async () => {
    const body = await analyse({ operation: 'describe', data: SALES_CSV });
    expect(body).toMatchObject({ source: 'inline csv', rows: 5, operation: 'describe' });
    expect(body.columns).toEqual([
      { name: 'region', type: 'text', missing: 0, distinct: 3 },
      { name: 'product', type: 'text', missing: 0, distinct: 2 },
      { name: 'units', type: 'number', missing: 1, distinct: 4 },
      { name: 'price', type: 'number', missing: 0, distinct: 5 },
    ]);
    expect(body.sample[0]).toEqual({ region: 'north', product: 'apple', units: 10, price: 1.5 });
    expect(body.sample).toHaveLength(5);
  });

  it('computes statistics with simple-statistics, skipping missing values', async () => {
    const body = await analyse({ operation: 'statistics', data: SALES_CSV, columns: ['units', 'price'], quantiles: [0.5, 0.9] });
    expect(body.statistics.units).toEqual({
      count: 4,
      missing: 1,
      sum: 24,
      mean: 6,
      median: 5.5,
      min: 3,
      max: 10,
      stddev: 3.16227766017,
      quantiles: { '0.5': 5.5, '0.9': 9.1 },
    });
    expect(body.statistics.price).toMatchObject({ count: 5, sum: 9, mean: 1.8, median: 1.75, min: 1.25, max: 2.5 });
  });

  it('takes every numeric column by default', async () => {
    const body = await analyse({ operation: 'statistics', data: SALES_CSV });
    expect(Object.keys(body.statistics)).toEqual(['units', 'price']);
  });

  it('groups with arquero and aggregates per group, ordered by the group keys', async () => {
    const body = await analyse({
      operation: 'group_by',
      data: SALES_CSV,
      group_by: ['region'],
      aggregations: [
        { function: 'count' },
        { function: 'sum', column: 'units' },
        { function: 'mean', column: 'price' },
        { function: 'count', column: 'units' },
      ],
    });
    expect(body.groupCount).toBe(3);
    expect(body.groups).toEqual([
      { region: 'east', count: 1, 'sum(units)': null, 'mean(price)': 2.5, 'count(units)': 0 },
      { region: 'north', count: 2, 'sum(units)': 14, 'mean(price)': 1.75, 'count(units)': 2 },
      { region: 'south', count: 2, 'sum(units)': 10, 'mean(price)': 1.5, 'count(units)': 2 },
    ]);
  });

  it('groups by several columns, with median, min, max and stddev', async () => {
    const body = await analyse({
      operation: 'group_by',
      data: SALES_CSV,
      group_by: ['region', 'product'],
      aggregations: [
        { function: 'median', column: 'price' },
        { function: 'min', column: 'price' },
        { function: 'max', column: 'price' },
        { function: 'stddev', column: 'price' },
      ],
    });
    expect(body.groups).toContainEqual({
      region: 'south',
      product: 'apple',
      'median(price)': 1.5,
      'min(price)': 1.25,
      'max(price)': 1.75,
      'stddev(price)': 0.353553390593,
    });
  });

  it('computes Pearson correlations between numeric columns over rows where both are present', async () => {
    const data = JSON.stringify([
      { x: 1, y: 2, z: 10 },
      { x: 2, y: 4, z: 8 },
      { x: 3, y: 6.5, z: 5 },
      { x: 4, y: null, z: 1 },
    ]);
    const body = await analyse({ operation: 'correlation', data, columns: ['x', 'y', 'z'] });
    expect(body.source).toBe('inline json');
    expect(body.correlations).toEqual([
      { x: 'x', y: 'y', r: 0.997948715789, n: 3 },
      { x: 'x', y: 'z', r: -0.989070710094, n: 4 },
      { x: 'y', y: 'z', r: -0.998704942258, n: 3 },
    ]);
  });

  it('reads JSON wrapped in an object and semicolon-separated CSV', async () => {
    const wrapped = await analyse({ operation: 'statistics', data: JSON.stringify({ rows: [{ a: '1' }, { a: 2 }] }) });
    expect(wrapped.statistics.a).toMatchObject({ count: 2, sum: 3 });
    const semicolons = await analyse({ operation: 'statistics', data: 'a;b\n1;2\n3;4', format: 'csv' });
    expect(semicolons.statistics.b).toMatchObject({ sum: 6 });
  });

  it('names the columns when a column is unknown', async () => {
    const error = await failure({ operation: 'statistics', data: SALES_CSV, columns: ['revenue'] });
    expect(error.code).toBe('AGENT_TOOL_FAILED');
    expect(error.message).toBe('Unknown column "revenue"; columns: "region", "product", "units", "price"');
    expect((await failure({ operation: 'group_by', data: SALES_CSV, group_by: ['constructor'] })).message).toMatch(
      /Unknown column "constructor"/,
    );
  });

  it('says which column is not numeric and shows a value', async () => {
    const error = await failure({ operation: 'statistics', data: SALES_CSV, columns: ['region'] });
    expect(error.message).toBe('Column "region" is not numeric (it holds values such as "north")');
    const grouped = await failure({
      operation: 'group_by',
      data: SALES_CSV,
      group_by: ['region'],
      aggregations: [{ function: 'mean', column: 'product' }],
    });
    expect(grouped.message).toMatch(/Column "product" is not numeric/);
    expect((await failure({ operation: 'statistics', data: 'name\nann\nbob' })).message).toMatch(/No column is numeric/);
  });

  it('reports malformed input clearly', async () => {
    expect((await failure({ operation: 'describe', data: 'a,b\n1,2,3' })).message).toMatch(
      /CSV could not be read: Invalid Record Length: expect 2, got 3 on line 2/,
    );
    expect((await failure({ operation: 'describe', data: '[1, 2]' })).message).toMatch(/Item 1 of the JSON array is not an object/);
    expect((await failure({ operation: 'describe', data: '{"a": [', format: 'json' })).message).toMatch(/JSON could not be read/);
    expect((await failure({ operation: 'describe', data: 'a,a\n1,2' })).message).toMatch(/"a" appears twice/);
  });

  it('caps rows and inline size', async () => {
    const tooMany = 'n\n' + '1\n'.repeat(MAX_ROWS + 1);
    const error = await failure({ operation: 'statistics', data: tooMany });
    expect(error.code).toBe('AGENT_TOOL_INPUT_TOO_LARGE');
    expect(parseTabular('n\n' + '1\n'.repeat(MAX_ROWS), 'csv').rowCount).toBe(MAX_ROWS);
    expect(tool.argsSchema.safeParse({ operation: 'describe', data: 'x'.repeat(1_000_001) }).success).toBe(false);
  });

  it('treats hostile column names as names, never as code', async () => {
    const evil = 'x"]);globalThis.__pwned=1;//';
    const data = JSON.stringify([
      { g: 'a', [evil]: 1 },
      { g: 'a', [evil]: 3 },
      { g: 'b', [evil]: 5 },
    ]);
    const body = await analyse({ operation: 'group_by', data, group_by: ['g'], aggregations: [{ function: 'mean', column: evil }] });
    expect(body.groups).toEqual([
      { g: 'a', [`mean(${evil})`]: 2 },
      { g: 'b', [`mean(${evil})`]: 5 },
    ]);
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
    const proto = await analyse({
      operation: 'describe',
      data: JSON.stringify([{ __proto__: 1, ok: 2 }].map((row) => JSON.parse(JSON.stringify(row)))),
    });
    expect(proto.columns.map((c: any) => c.name)).toEqual(['ok']);
  });

  it('requires exactly one source and the arguments its operation needs', () => {
    const check = (args: Record<string, unknown>) => tool.argsSchema.safeParse(args);
    expect(check({ operation: 'describe' }).success).toBe(false);
    expect(check({ operation: 'describe', data: 'a\n1', document_id: '3f1c1c8e-1111-4a4a-8b8b-1234567890ab' }).success).toBe(false);
    expect(check({ operation: 'group_by', data: 'a\n1' }).success).toBe(false);
    expect(check({ operation: 'correlation', data: 'a\n1', columns: ['a'] }).success).toBe(false);
    expect(check({ operation: 'describe', data: 'a\n1', knowledge_base_id: '3f1c1c8e-1111-4a4a-8b8b-1234567890ab' }).success).toBe(false);
    expect(check({ operation: 'describe', data: 'a\n1', sql: 'drop' }).success).toBe(false);
  });

  it('reads documents only with knowledge-base read permission and knowledge bases in the run', async () => {
    const id = '3f1c1c8e-1111-4a4a-8b8b-1234567890ab';
    const args = tool.argsSchema.parse({ operation: 'describe', document_id: id });
    await expect(tool.run(args, context([], [id]))).rejects.toMatchObject({ code: 'AGENT_TOOL_NOT_ALLOWED' });
    await expect(tool.run(args, context([Permission.KnowledgeBaseRead], []))).rejects.toMatchObject({ code: 'AGENT_TOOL_NOT_ALLOWED' });
    const other = tool.argsSchema.parse({ operation: 'describe', document_id: id, knowledge_base_id: id });
    await expect(tool.run(other, context([Permission.KnowledgeBaseRead], ['4f1c1c8e-1111-4a4a-8b8b-1234567890ab']))).rejects.toMatchObject({
      code: 'AGENT_TOOL_NOT_ALLOWED',
    });
  });
});

describe('data_analyzer tool on a document of the run', () => {
  const KB = '11111111-1111-4111-8111-111111111111';
  const DOC = '22222222-2222-4222-8222-222222222222';
  const stored = (overrides: Partial<DocumentRead> = {}): DocumentRead => ({
    documentId: DOC,
    knowledgeBaseId: KB,
    name: 'sales.csv',
    format: 'csv',
    sizeBytes: SALES_CSV.length,
    contentBase64: Buffer.from(`\uFEFF${SALES_CSV}`).toString('base64'),
    ...overrides,
  });
  const withKnowledge = (answer: (request: DocumentReadRequest) => Promise<DocumentRead>) => {
    const requests: DocumentReadRequest[] = [];
    const knowledge = { readDocument: (request: DocumentReadRequest) => (requests.push(request), answer(request)) };
    const documentTool = new DataAnalyzerTool(knowledge as unknown as KnowledgeRetriever);
    const run = (args: Record<string, unknown>) =>
      documentTool.run(documentTool.argsSchema.parse({ operation: 'describe', document_id: DOC, ...args }), context(undefined, [KB]));
    return { run, requests };
  };

  it("reads the document through the RAG seam as the run's user, CSV and JSON only, within the size limit", async () => {
    const { run, requests } = withKnowledge(() => Promise.resolve(stored()));
    const body = JSON.parse((await run({})).content);
    expect(body).toMatchObject({ source: 'document "sales.csv"', rows: 5 });
    expect(requests).toEqual([
      {
        caller: { workspaceId: 'w', userId: 'u', apiKeyId: null, permissions: [Permission.KnowledgeBaseRead] },
        knowledgeBaseIds: [KB],
        documentId: DOC,
        formats: ['csv', 'json'],
        maxBytes: 5 * 1024 * 1024,
      },
    ]);
  });

  it('says the document is not in the run when no knowledge base of the run holds it', async () => {
    const { run } = withKnowledge(() => Promise.reject(new RagException(RagErrorCode.DocumentNotFound, 'Document not found')));
    await expect(run({})).rejects.toMatchObject({ message: expect.stringContaining('is not in the knowledge bases of this run') });
  });

  it('refuses a document of another format, pointing at document_search', async () => {
    const { run } = withKnowledge(() => Promise.resolve(stored({ name: 'report.pdf', format: 'pdf', contentBase64: null })));
    await expect(run({})).rejects.toMatchObject({ message: expect.stringContaining('use document_search') });
  });

  it('refuses a document over the limit, described or cut off while reading (413)', async () => {
    const described = withKnowledge(() => Promise.resolve(stored({ sizeBytes: 6 * 1024 * 1024, contentBase64: null })));
    const error = await described.run({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentToolException);
    expect((error as AgentToolException).message).toContain('the most data_analyzer reads');
    const cut = withKnowledge(() =>
      Promise.reject(
        new AppException('PAYLOAD_TOO_LARGE', HttpStatus.PAYLOAD_TOO_LARGE, 'Document "sales.csv" is larger than 5242880 bytes'),
      ),
    );
    await expect(cut.run({})).rejects.toMatchObject({ message: expect.stringContaining('the most data_analyzer reads') });
  });
});
