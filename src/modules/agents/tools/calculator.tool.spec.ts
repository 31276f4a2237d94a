import { afterAll, describe, expect, it } from 'vitest';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { AgentToolException } from 'src/modules/agents/tools/agent-tool.exception';
import { bracketDepth, CalculatorTool } from 'src/modules/agents/tools/calculator.tool';
import { DEFAULT_MATH_SANDBOX_OPTIONS } from 'src/modules/agents/tools/math-sandbox';

const context = (signal = new AbortController().signal): AgentToolContext => ({
  auth: {} as AgentToolContext['auth'],
  knowledgeBaseIds: [],
  signal,
});

async function failure(promise: Promise<unknown>): Promise<AgentToolException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AgentToolException);
    return error as AgentToolException;
  }
  throw new Error('expected the calculation to fail');
}

// Starting the worker loads mathjs (about a second, more on a loaded machine).
describe('calculator tool', { timeout: 60_000 }, () => {
  const tool = new CalculatorTool({ ...DEFAULT_MATH_SANDBOX_OPTIONS, timeoutMs: 1_500 });
  const calc = (expression: string, signal?: AbortSignal) => tool.run({ expression }, context(signal));
  const result = async (expression: string) => ((await calc(expression)).data as { result: string }).result;
  afterAll(() => tool.onModuleDestroy());

  it('evaluates arithmetic, functions, statistics, matrices, units and complex numbers', async () => {
    expect(await result('sqrt(3^2 + 4^2)')).toBe('5');
    expect(await result('0.1 + 0.2')).toBe('0.3');
    expect(await result('mean([2, 4, 9])')).toBe('5');
    expect(await result('det([1, 2; 3, 4])')).toBe('-2');
    expect(await result('5 cm to inch')).toBe('1.9685039370079 inch');
    expect(await result('sqrt(-4)')).toBe('2i');
    expect(await result('a = 3; b = 4; a * b')).toBe('12');
    expect(await result('sum(1:100)')).toBe('5050');
    expect(await result('[1, 2, 3][2]')).toBe('2');
    expect(await result('2^1000000')).toBe('Infinity');
  });

  it('returns the result as JSON content with the expression', async () => {
    const outcome = await calc('2 * (3 + 4)');
    expect(JSON.parse(outcome.content)).toEqual({ expression: '2 * (3 + 4)', result: '14' });
    expect(outcome.data).toMatchObject({ type: 'number' });
  });

  it('reports a maths error clearly', async () => {
    const error = await failure(calc('2 +'));
    expect(error.code).toBe('AGENT_TOOL_FAILED');
    expect(error.message).toMatch(/^Could not evaluate the expression: /);
    expect((await failure(calc('undefinedThing + 1'))).message).toMatch(/Undefined symbol undefinedThing/);
  });

  it.each([
    ['import({x: 1})', /import/],
    ['createUnit("gremlin")', /createUnit/],
    ['evaluate("1 + 1")', /evaluate/],
    ['parse("1 + 1")', /parse/],
    ['simplify("x + x")', /simplify/],
    ['derivative("x^2", "x")', /derivative/],
    ['config({number: "BigNumber"})', /config/],
    ['f = evaluate; f("1")', /evaluate/],
    ['typed("x", {})', /typed/],
  ])('refuses %s', async (expression, reason) => {
    const error = await failure(calc(expression));
    expect(error.code).toBe('AGENT_TOOL_FAILED');
    expect(error.message).toMatch(reason);
  });

  it.each([
    ['[1, 2].constructor', /Property access/],
    ['cos["constructor"]', /Property access/],
    ['sin.constructor("return process")()', /./],
    ['"abc".length', /Property access/],
    ['Unit', /not available/],
    ['f(x) = f(x) + 1; f(1)', /Defining functions/],
    ['x = [1, 2]; x[1000000] = 1', /plain variables/],
    ['pi = 3', /built-in name/],
    ['{a: 1}', /Object expressions/],
  ])('blocks escapes: %s', async (expression, reason) => {
    expect((await failure(calc(expression))).message).toMatch(reason);
  });

  it('keeps the instance unchanged between calls (no config leaks from one call to the next)', async () => {
    await failure(calc('config({number: "BigNumber"})'));
    expect(await result('typeOf(1)')).toBe('"number"');
  });

  it.each([
    ['zeros(100000, 100000)', /zeros.*10000000000 elements/],
    ['ones([5000, 5000])', /ones/],
    ['identity(1e6)', /identity/],
    ['1:1e9', /range.*at most 100000/i],
    ['range(0, 1e9)', /range/],
    ['random([1e4, 1e4])', /random/],
    ['resize([1], [1e9])', /resize/],
  ])('caps the size of %s before allocating', async (expression, reason) => {
    const error = await failure(calc(expression));
    expect(error.message).toMatch(reason);
  });

  it('refuses results too large to return', async () => {
    expect((await failure(calc('ones(100, 100)'))).message).toMatch(/10000 elements; at most 1000/);
  });

  it('kills an evaluation that runs past its deadline and keeps working afterwards', async () => {
    const started = Date.now();
    const error = await failure(calc('combinations(1e9, 5e8)'));
    expect(error.code).toBe('AGENT_TOOL_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await result('1 + 1')).toBe('2');
  });

  it('survives a memory bomb the static checks cannot size (a range built from a variable)', async () => {
    const error = await failure(calc('n = 1e8; x = 1:n; size(x)'));
    expect(['AGENT_TOOL_INPUT_TOO_LARGE', 'AGENT_TOOL_TIMEOUT']).toContain(error.code);
    expect(await result('2 + 2')).toBe('4');
  });

  it('refuses deep nesting before parsing', async () => {
    const deep = '('.repeat(200) + '1' + ')'.repeat(200);
    expect((await failure(calc(deep))).message).toMatch(/nested deeper than 32 brackets/);
    expect(bracketDepth('f("((((", (1))')).toBe(2);
  });

  it('adds up long sums but refuses expressions with too many parts', async () => {
    expect(await result(Array.from({ length: 200 }, () => '1').join('+'))).toBe('200');
    const long = Array.from({ length: 300 }, () => '1').join('+');
    expect((await failure(calc(long))).message).toMatch(/more than 500 parts/);
  });

  it('bounds the expression length in its schema', () => {
    expect(tool.argsSchema.safeParse({ expression: 'x'.repeat(1_001) }).success).toBe(false);
    expect(tool.argsSchema.safeParse({ expression: '1', extra: true }).success).toBe(false);
  });

  it('stops a calculation when the run is cancelled', async () => {
    const controller = new AbortController();
    const pending = calc('combinations(1e9, 5e8)', controller.signal);
    setTimeout(() => controller.abort(), 100);
    expect((await failure(pending)).message).toMatch(/cancelled/);
    expect(await result('3 * 3')).toBe('9');
  });
});
