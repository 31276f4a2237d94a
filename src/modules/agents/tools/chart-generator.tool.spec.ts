import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';
import { ChartGeneratorTool, DEFAULT_CHART_GENERATOR_OPTIONS } from 'src/modules/agents/tools/chart-generator.tool';
import { checkChartSpec } from 'src/modules/agents/tools/chart-spec-guard';

const context = (): AgentToolContext => ({
  auth: {} as AgentToolContext['auth'],
  knowledgeBaseIds: [],
  signal: new AbortController().signal,
});

const BAR = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: 'Units by region',
  width: 300,
  height: 200,
  data: {
    values: [
      { region: 'north', units: 14 },
      { region: 'south', units: 10 },
      { region: 'east', units: 3 },
    ],
  },
  mark: 'bar',
  encoding: { x: { field: 'region', type: 'nominal' }, y: { field: 'units', type: 'quantitative' } },
};

const withData = (values: unknown) => ({ ...BAR, data: { values } });

// The renderer runs in its own process (vega loads in a fraction of a second).
describe('chart_generator tool', { timeout: 60_000 }, () => {
  const tool = new ChartGeneratorTool({ ...DEFAULT_CHART_GENERATOR_OPTIONS, timeoutMs: 20_000 });
  const run = (args: Record<string, unknown>) => tool.run(tool.argsSchema.parse(args), context());
  const refusal = async (spec: unknown) => {
    const error = await run({ spec }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentToolException);
    return error as AgentToolException;
  };
  let server: Server;
  let fetched = 0;
  let base: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('[{"region": "leak", "units": 1}]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await tool.onModuleDestroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('renders a Vega-Lite bar chart to SVG and PNG artifacts', async () => {
    const outcome = await run({ spec: BAR, name: 'units-by-region' });
    const body = JSON.parse(outcome.content);
    expect(body).toMatchObject({ chart: 'units-by-region', files: ['units-by-region.svg', 'units-by-region.png'], dataRows: 3 });
    expect(body.width).toBeGreaterThan(300);
    const [svg, png] = outcome.artifacts!;
    expect(svg).toMatchObject({ name: 'units-by-region.svg', mediaType: 'image/svg+xml' });
    const svgText = svg.bytes.toString('utf8');
    expect(svgText).toMatch(/^<svg/);
    expect(svgText).toContain('Units by region');
    expect(svgText).toContain('north');
    expect(png).toMatchObject({ name: 'units-by-region.png', mediaType: 'image/png' });
    const meta = await sharp(png.bytes).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([body.width, body.height]);
  });

  it('accepts the spec as JSON text and a layered chart with aggregation, binning and a field predicate', async () => {
    const spec = {
      data: { values: Array.from({ length: 200 }, (_, i) => ({ x: i % 37, g: i % 2 ? 'odd' : 'even' })) },
      transform: [{ filter: { field: 'x', gt: 2 } }],
      layer: [
        { mark: 'bar', encoding: { x: { field: 'x', bin: { maxbins: 10 } }, y: { aggregate: 'count' }, color: { field: 'g' } } },
        { mark: 'rule', encoding: { y: { aggregate: 'mean', field: 'x' } } },
      ],
    };
    const outcome = await run({ spec: JSON.stringify(spec) });
    expect(JSON.parse(outcome.content)).toMatchObject({ chart: 'chart', dataRows: 200 });
    expect(outcome.artifacts).toHaveLength(2);
  });

  it.each([
    ['data.url', { ...BAR, data: { url: 'http://HOST/data.json' } }, /data.url: charts may only use data inlined/],
    [
      'a nested lookup url',
      { ...BAR, transform: [{ lookup: 'region', from: { data: { url: 'http://HOST/x.json' }, key: 'region' } }] },
      /url/,
    ],
    ['an image mark', { ...BAR, mark: { type: 'image' } }, /unknown mark "image"/],
    ['a url channel', { ...BAR, encoding: { ...BAR.encoding, url: { field: 'region' } } }, /encoding.url/],
    ['an href channel', { ...BAR, encoding: { ...BAR.encoding, href: { field: 'region' } } }, /links are not allowed/],
    [
      'a calculate transform',
      { ...BAR, transform: [{ calculate: 'datum.units * 2', as: 'double' }] },
      /calculate transforms are not allowed/,
    ],
    ['a filter expression', { ...BAR, transform: [{ filter: "datum.region == 'north'" }] }, /expression strings are not allowed/],
    [
      'a condition test',
      { ...BAR, encoding: { ...BAR.encoding, color: { condition: { test: 'datum.units > 5', value: 'red' }, value: 'blue' } } },
      /expression strings/,
    ],
    [
      'a labelExpr',
      { ...BAR, encoding: { ...BAR.encoding, x: { field: 'region', type: 'nominal', axis: { labelExpr: 'datum.label' } } } },
      /expressions are not allowed/,
    ],
    ['an expr reference', { ...BAR, width: { expr: '1000' } }, /expressions are not allowed/],
    ['params', { ...BAR, params: [{ name: 'p', value: 1 }] }, /parameters/],
    ['a sequence generator', { ...BAR, data: { sequence: { start: 0, stop: 1e9 } } }, /data.sequence/],
    ['a custom format type', { ...BAR, config: { customFormatTypes: true } }, /custom format types/],
    ['a bin step', { ...BAR, encoding: { ...BAR.encoding, x: { field: 'units', bin: { step: 1e-9 } } } }, /bin steps are not allowed/],
    [
      'too many ticks',
      { ...BAR, encoding: { ...BAR.encoding, y: { field: 'units', type: 'quantitative', axis: { tickCount: 1e9 } } } },
      /at most 100/,
    ],
    [
      'impute keyvals sequence',
      { ...BAR, encoding: { ...BAR.encoding, y: { field: 'units', impute: { keyvals: { start: 0, stop: 1e9 } } } } },
      /keyvals/,
    ],
    ['a huge width', { ...BAR, width: 100_000 }, /between 1 and 2000 pixels/],
    ['nested values', withData([{ region: { nested: true }, units: 1 }]), /flat object/],
    ['csv text values', { ...BAR, data: { values: 'region,units\na,1', format: { type: 'csv' } } }, /must be an array|only type "json"/],
  ])('refuses %s before rendering', async (_label, spec, reason) => {
    const error = await refusal(JSON.parse(JSON.stringify(spec).replaceAll('http://HOST', base)));
    expect(error.code).toBe('AGENT_TOOL_FAILED');
    expect(error.message).toMatch(/^The chart spec is not allowed: /);
    expect(error.message).toMatch(reason);
    expect(fetched).toBe(0);
  });

  it('caps the data size', async () => {
    const rows = Array.from({ length: 5_001 }, (_, i) => ({ region: `r${i}`, units: i }));
    const error = await refusal(withData(rows));
    expect(error.code).toBe('AGENT_TOOL_INPUT_TOO_LARGE');
    expect(error.message).toMatch(/more than 5000 data rows/);
    expect(checkChartSpec(withData(rows.slice(0, 5_000))).dataRows).toBe(5_000);
    const big = await refusal(withData([{ region: 'x'.repeat(600 * 1024), units: 1 }]));
    expect(big.code).toBe('AGENT_TOOL_INPUT_TOO_LARGE');
  });

  it('refuses a rendered chart larger than the pixel cap (many facets)', async () => {
    const values = Array.from({ length: 400 }, (_, i) => ({ region: `r${i}`, units: i }));
    const spec = {
      data: { values },
      mark: 'bar',
      width: 50,
      height: 50,
      encoding: { row: { field: 'region' }, y: { field: 'units', type: 'quantitative' } },
    };
    const error = await refusal(spec);
    expect(error.code).toBe('AGENT_TOOL_INPUT_TOO_LARGE');
    expect(error.message).toMatch(/pixels; at most 4000×4000/);
  });

  it('names the marks when a mark is unknown, and reports a spec vega-lite cannot compile', async () => {
    const error = await refusal({ data: { values: [{ a: 1 }] }, mark: 'nonsense' });
    expect(error.message).toMatch(/^The chart spec is not allowed: mark: unknown mark "nonsense"; marks are arc, area, bar/);
    const broken = await refusal({ data: { values: [{ a: 1 }] }, mark: 'bar', encoding: { x: { field: 'a', type: 'nonsense' } } });
    expect(broken.message).toMatch(/^The chart could not be rendered: /);
  });

  it('validates its arguments', () => {
    expect(tool.argsSchema.safeParse({ spec: BAR, name: '../etc/passwd' }).success).toBe(false);
    expect(tool.argsSchema.safeParse({ spec: 42 }).success).toBe(false);
    expect(tool.argsSchema.safeParse({ spec: BAR, extra: 1 }).success).toBe(false);
  });
});
