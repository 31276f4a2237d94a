/**
 * What a Vega-Lite spec from a model may contain before it is compiled and rendered on the
 * server. Charts draw only data inlined in the spec, so nothing may be loaded (`url`, image
 * marks, links); and no Vega expression string the model writes is compiled (`expr`,
 * `calculate`, string filters and tests, `*Expr` labels, parameters, custom format types), so
 * the expression compiler is never the only barrier. Sizes that multiply work (data rows,
 * pixels, bins, ticks, generated sequences) are capped; the render also runs in a sandbox
 * process with a deadline and a heap limit.
 */

export interface ChartSpecLimits {
  maxSpecChars: number;
  maxDataRows: number;
  maxPixels: number;
  maxDepth: number;
}

export const DEFAULT_CHART_SPEC_LIMITS: ChartSpecLimits = {
  maxSpecChars: 512 * 1024,
  maxDataRows: 5_000,
  maxPixels: 2_000,
  maxDepth: 32,
};

/** Keys that load something or compile an expression the model wrote, wherever they appear. */
const FORBIDDEN_KEYS: Record<string, string> = {
  url: 'charts may only use data inlined in data.values (no url)',
  href: 'links are not allowed in charts',
  expr: 'expressions are not allowed in charts',
  signal: 'signals are not allowed in charts',
  params: 'parameters (selections, bindings) are not allowed in server-rendered charts',
  calculate: 'calculate transforms are not allowed; compute the values into data.values instead',
  sequence: 'generated data (sequence) is not allowed; put the values in data.values',
  graticule: 'generated data (graticule) is not allowed',
  sphere: 'generated data (sphere) is not allowed',
  formatType: 'custom format types are not allowed',
  customFormatTypes: 'custom format types are not allowed',
  loader: 'loaders are not allowed',
  // Bin and density options that set a step count or size directly: a tiny step makes an enormous sequence.
  steps: 'density steps are not allowed; the default sampling is used',
  minstep: 'bin steps are not allowed; use maxbins',
  divide: 'bin steps are not allowed; use maxbins',
};

/** Keys whose string value is a Vega expression. */
const EXPRESSION_STRING_KEYS = new Set(['filter', 'test']);

/** Numeric knobs that multiply work, and their caps. */
const NUMBER_CAPS: Record<string, number> = {
  maxbins: 200,
  /** A band's size (`"width": {"step": 20}`) or a time unit's step. */
  step: 200,
  tickCount: 100,
  nice: 100,
  minsteps: 1_000,
  maxsteps: 1_000,
  labelLimit: 10_000,
};

const DATA_KEYS = new Set(['values', 'name', 'format']);

/** Vega-Lite 5's marks, less `image` (it loads its pictures from URLs). */
const MARKS = new Set([
  'arc',
  'area',
  'bar',
  'line',
  'point',
  'rect',
  'rule',
  'text',
  'tick',
  'trail',
  'circle',
  'square',
  'geoshape',
  'boxplot',
  'errorband',
  'errorbar',
]);

export class ChartSpecError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path || 'spec'}: ${reason}`);
    this.name = 'ChartSpecError';
  }
}

export interface CheckedSpec {
  dataRows: number;
}

/** Throws ChartSpecError naming the first problem; returns the number of data rows otherwise. */
export function checkChartSpec(spec: unknown, limits: ChartSpecLimits = DEFAULT_CHART_SPEC_LIMITS): CheckedSpec {
  if (!isPlainObject(spec)) throw new ChartSpecError('', 'a Vega-Lite spec must be a JSON object');
  const size = JSON.stringify(spec).length;
  if (size > limits.maxSpecChars)
    throw new ChartSpecError('', `the spec is ${size} characters; at most ${limits.maxSpecChars} are allowed`);
  const state = { rows: 0 };
  walk(spec, '', 0, limits, state, null);
  return { dataRows: state.rows };
}

function walk(
  node: unknown,
  path: string,
  depth: number,
  limits: ChartSpecLimits,
  state: { rows: number },
  parentKey: string | null,
): void {
  if (depth > limits.maxDepth) throw new ChartSpecError(path, `nested deeper than ${limits.maxDepth} levels`);
  if (Array.isArray(node)) {
    node.forEach((item, index) => walk(item, `${path}[${index}]`, depth + 1, limits, state, parentKey));
    return;
  }
  if (!isPlainObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    const at = path ? `${path}.${key}` : key;
    if (Object.hasOwn(FORBIDDEN_KEYS, key)) throw new ChartSpecError(at, FORBIDDEN_KEYS[key]);
    if (key.endsWith('Expr')) throw new ChartSpecError(at, 'expressions are not allowed in charts');
    if (EXPRESSION_STRING_KEYS.has(key) && typeof value === 'string') {
      throw new ChartSpecError(at, 'expression strings are not allowed; use a field predicate such as {"field": "x", "gt": 3}');
    }
    if (key === 'step' && parentKey === 'bin') throw new ChartSpecError(at, 'bin steps are not allowed; use maxbins');
    if (Object.hasOwn(NUMBER_CAPS, key) && typeof value === 'number' && !(Math.abs(value) <= NUMBER_CAPS[key])) {
      throw new ChartSpecError(at, `at most ${NUMBER_CAPS[key]}`);
    }
    if ((key === 'width' || key === 'height') && typeof value === 'number' && !(value > 0 && value <= limits.maxPixels)) {
      throw new ChartSpecError(at, `must be between 1 and ${limits.maxPixels} pixels`);
    }
    if (key === 'mark') checkMark(value, at);
    if (key === 'keyvals' && !Array.isArray(value)) throw new ChartSpecError(at, 'impute keyvals must be an array (no generated sequence)');
    if (key === 'data' || (key === 'from' && isPlainObject(value) && 'data' in value)) {
      if (key === 'data') checkData(value, at, limits, state);
      else walk(value, at, depth + 1, limits, state, key);
      continue;
    }
    if (key === 'datasets' && path === '') {
      checkDatasets(value, at, limits, state);
      continue;
    }
    walk(value, at, depth + 1, limits, state, key);
  }
}

function checkMark(mark: unknown, at: string): void {
  const type = isPlainObject(mark) ? mark.type : mark;
  if (typeof type !== 'string' || !MARKS.has(type)) {
    throw new ChartSpecError(at, `unknown mark ${JSON.stringify(type)}; marks are ${[...MARKS].join(', ')}`);
  }
}

function checkData(data: unknown, at: string, limits: ChartSpecLimits, state: { rows: number }): void {
  if (data === null) return;
  if (!isPlainObject(data)) throw new ChartSpecError(at, 'must be an object with inline values');
  for (const key of Object.keys(data)) {
    if (!DATA_KEYS.has(key)) {
      throw new ChartSpecError(`${at}.${key}`, key === 'url' ? FORBIDDEN_KEYS.url : 'data may only hold values (and a name or format)');
    }
  }
  if ('format' in data) checkFormat(data.format, `${at}.format`);
  if ('values' in data) countRows(data.values, `${at}.values`, limits, state);
  else if (typeof data.name !== 'string') throw new ChartSpecError(at, 'data needs inline values (or the name of a dataset)');
}

function checkFormat(format: unknown, at: string): void {
  if (!isPlainObject(format)) throw new ChartSpecError(at, 'must be an object');
  for (const [key, value] of Object.entries(format)) {
    if (key === 'type' && value !== 'json') throw new ChartSpecError(`${at}.type`, 'inline values are JSON: only type "json" is allowed');
    if (key !== 'type' && key !== 'parse') throw new ChartSpecError(`${at}.${key}`, 'only type and parse are allowed');
    if (key === 'parse' && value !== null && !isPlainObject(value)) throw new ChartSpecError(`${at}.parse`, 'must be an object');
    if (key === 'parse' && isPlainObject(value)) {
      for (const [field, parser] of Object.entries(value)) {
        if (typeof parser !== 'string' || !/^(number|boolean|date|string|auto)$|^(date|utc):'[^']*'$/.test(parser)) {
          throw new ChartSpecError(`${at}.parse.${field}`, 'must be number, boolean, date, string or auto');
        }
      }
    }
  }
}

function checkDatasets(datasets: unknown, at: string, limits: ChartSpecLimits, state: { rows: number }): void {
  if (!isPlainObject(datasets)) throw new ChartSpecError(at, 'must map names to arrays of values');
  for (const [name, values] of Object.entries(datasets)) countRows(values, `${at}.${name}`, limits, state);
}

function countRows(values: unknown, at: string, limits: ChartSpecLimits, state: { rows: number }): void {
  if (!Array.isArray(values)) throw new ChartSpecError(at, 'inline values must be an array');
  for (const [index, row] of values.entries()) {
    const flat = isPlainObject(row) ? Object.values(row).every(isScalar) : isScalar(row);
    if (!flat) throw new ChartSpecError(`${at}[${index}]`, 'each value must be a flat object of strings, numbers, booleans or null');
  }
  state.rows += values.length;
  if (state.rows > limits.maxDataRows) throw new ChartSpecError(at, `more than ${limits.maxDataRows} data rows in the chart`);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
