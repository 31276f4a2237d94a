import { OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import type { AgentTool, AgentToolContext, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import { toolFailed } from 'src/modules/agents/tools/agent-tool.exception';
import { DEFAULT_MATH_SANDBOX_OPTIONS, MathSandbox, MathSandboxOptions } from 'src/modules/agents/tools/math-sandbox';
import { jsonContent, truncateText } from 'src/modules/agents/tools/tool-output';

export const MAX_EXPRESSION_CHARS = 1_000;
/** Brackets deeper than this are refused before parsing: the parser is recursive. */
export const MAX_BRACKET_DEPTH = 32;
const MAX_RESULT_CHARS = 4_000;

const argsSchema = z.strictObject({
  expression: z
    .string()
    .min(1)
    .max(MAX_EXPRESSION_CHARS)
    .describe(
      'A mathjs expression, e.g. "sqrt(3^2 + 4^2)", "mean([2, 4, 9])", "5 cm to inch", "det([1, 2; 3, 4])", ' +
        '"a = 3; b = 4; a * b" (the last value is returned)',
    ),
});

export type CalculatorArgs = z.infer<typeof argsSchema>;

/** Evaluates maths expressions with mathjs in a locked-down sandbox (see math-sandbox.ts); no JavaScript runs. */
export class CalculatorTool implements AgentTool<CalculatorArgs>, OnModuleDestroy {
  readonly name = 'calculator' as const;
  readonly description =
    'Evaluates a mathematical expression exactly and returns the result: arithmetic, functions (sqrt, log, sin), ' +
    'statistics on lists (mean, median, std), matrices, units and conversions, complex numbers.';
  readonly argsSchema = argsSchema;
  private readonly sandbox: MathSandbox;

  constructor(options: MathSandboxOptions = DEFAULT_MATH_SANDBOX_OPTIONS) {
    this.sandbox = new MathSandbox(options);
  }

  isAvailable(): boolean {
    return true;
  }

  async run(args: CalculatorArgs, context: AgentToolContext): Promise<AgentToolResult> {
    const expression = args.expression.trim();
    if (!expression) throw toolFailed('The expression is empty');
    if (bracketDepth(expression) > MAX_BRACKET_DEPTH) {
      throw toolFailed(`The expression is nested deeper than ${MAX_BRACKET_DEPTH} brackets`);
    }
    const outcome = await this.sandbox.evaluate(expression, context.signal);
    const result = truncateText(outcome.result, MAX_RESULT_CHARS);
    return { content: jsonContent({ expression, result }), data: { expression, result, type: outcome.type } };
  }

  onModuleDestroy(): Promise<void> {
    return this.sandbox.close();
  }
}

/** Deepest nesting of (), [] and {} outside string literals. */
export function bracketDepth(expression: string): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | null = null;
  for (let i = 0; i < expression.length; i++) {
    const char = expression[i];
    if (quote) {
      if (char === '\\') i++;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '(' || char === '[' || char === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if (char === ')' || char === ']' || char === '}') {
      depth--;
    }
  }
  return deepest;
}
