import { AgentToolErrorCode, AgentToolException, toolFailed, toolInputTooLarge } from 'src/modules/agents/tools/agent-tool.exception';
import { ProcessSandbox, resolvePackage, SandboxFailure, SandboxReplyError } from 'src/modules/agents/tools/process-sandbox';

/*
 * Expressions a model writes are evaluated by mathjs, never by JavaScript's eval, in three
 * layers:
 *
 * 1. A locked-down instance, as the mathjs security guide recommends: the functions that change
 *    the instance or parse text into new expressions (import, createUnit, evaluate, parse,
 *    simplify, derivative, resolve, compile, reviver) are replaced by ones that throw.
 * 2. The expression is parsed and its tree checked before anything runs: a bounded number of
 *    nodes and depth; no user-defined functions (recursion), no property access (`.constructor`),
 *    no assignment into matrices or to built-in names; names that reach the instance's machinery
 *    (config, typed, classes) refused; constant ranges, zeros/ones/identity/random/resize sized
 *    before they allocate.
 * 3. It runs in a sandbox process (process-sandbox.ts) with a small heap and a deadline:
 *    whatever slips past (an expensive combinatorial function, a range built from variables)
 *    kills the sandbox, not the app, and the next call starts a fresh one.
 */

const SANDBOX_SOURCE = `
'use strict';
const { create, all } = require(process.argv[1]);
const limits = JSON.parse(process.argv[2]);
const math = create(all, { number: 'number', matrix: 'Matrix', randomSeed: null });
const parse = math.parse;
const format = math.format;
const typeOf = math.typeOf;
const transforms = math.expression.mathWithTransform;
const sized = { zeros: math.zeros, ones: math.ones, identity: math.identity, random: math.random, randomInt: math.randomInt, resize: math.resize, range: transforms.range };

const DISABLED = ['import', 'createUnit', 'reviver', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'compile'];
math.import(Object.fromEntries(DISABLED.map((name) => [name, function () { throw new Error('Function ' + name + ' is disabled'); }])), { override: true });

// Not overridden (other functions are built on them) but never reachable by name from an expression.
const DENIED = new Set([...DISABLED, 'config', 'typed', 'chain', 'parser', 'help', 'replacer', 'simplifyConstant', 'simplifyCore',
  'rationalize', 'leafCount', 'symbolicEqual', 'factory', 'create', 'on', 'off', 'once', 'emit', 'expression', 'json', 'isNode',
  'isSymbolNode', 'isFunctionNode', 'isAccessorNode']);
const CONSTANTS = new Set(['E', 'PI', 'LN2', 'LN10', 'LOG2E', 'LOG10E', 'SQRT1_2', 'SQRT2', 'Infinity', 'NaN']);
const ALLOWED_NODES = new Set(['ConstantNode', 'SymbolNode', 'OperatorNode', 'ParenthesisNode', 'FunctionNode', 'ArrayNode', 'RangeNode',
  'ConditionalNode', 'BlockNode', 'AssignmentNode', 'AccessorNode', 'IndexNode', 'RelationalNode']);

class Refused extends Error {}

function checkName(name) {
  if (DENIED.has(name) || (/^[A-Z]/.test(name) && !CONSTANTS.has(name)) || name.startsWith('_')) {
    throw new Refused('"' + name + '" is not available in the calculator');
  }
}

function constantNumber(node) {
  if (!node) return undefined;
  if (node.type === 'ConstantNode' && typeof node.value === 'number') return node.value;
  if (node.type === 'OperatorNode' && node.fn === 'unaryMinus' && node.args[0].type === 'ConstantNode') return -node.args[0].value;
  return undefined;
}

function rangeCount(start, end, step) {
  if (![start, end, step].every((x) => typeof x === 'number' && Number.isFinite(x)) || step === 0) return 0;
  return Math.max(0, Math.floor((end - start) / step) + 1);
}

function checkElements(what, count) {
  if (!(count <= limits.maxElements)) {
    throw new Refused(what + ' would hold ' + (Number.isFinite(count) ? count : 'too many') + ' elements; the calculator allows at most ' + limits.maxElements);
  }
}

function checkTree(root) {
  let nodes = 0;
  const visit = (node, depth) => {
    if (++nodes > limits.maxNodes) throw new Refused('The expression has more than ' + limits.maxNodes + ' parts');
    if (depth > limits.maxDepth) throw new Refused('The expression is nested deeper than ' + limits.maxDepth + ' levels');
    if (node.type === 'FunctionAssignmentNode') throw new Refused('Defining functions is not allowed in the calculator');
    if (!ALLOWED_NODES.has(node.type)) throw new Refused(node.type.replace(/Node$/, '') + ' expressions are not allowed in the calculator');
    switch (node.type) {
      case 'SymbolNode':
        checkName(node.name);
        break;
      case 'FunctionNode':
        if (node.fn.type !== 'SymbolNode') throw new Refused('Only named functions can be called');
        break;
      case 'AccessorNode':
        if (node.index.isObjectProperty()) throw new Refused('Property access is not allowed in the calculator');
        break;
      case 'AssignmentNode':
        if (node.object.type !== 'SymbolNode' || node.index) throw new Refused('Only plain variables can be assigned (x = ...)');
        if (node.object.name in math) throw new Refused('"' + node.object.name + '" is a built-in name and cannot be assigned');
        break;
      case 'RangeNode': {
        const start = constantNumber(node.start);
        const end = constantNumber(node.end);
        const step = node.step ? constantNumber(node.step) : 1;
        checkElements('The range', rangeCount(start, end, step));
        break;
      }
    }
    node.forEach((child) => visit(child, depth + 1));
  };
  visit(root, 0);
}

function toNumber(value) {
  if (typeof value === 'number') return value;
  if (value && value.isBigNumber) return value.toNumber();
  if (value && value.isFraction) return Number(value.valueOf());
  return NaN;
}

function sizeEntries(value) {
  if (value && value.isMatrix) return value.toArray().flat(Infinity).map(toNumber);
  if (Array.isArray(value)) return value.flat(Infinity).map(toNumber);
  return [toNumber(value)];
}

function elementsOf(dims) {
  let count = 1;
  for (const dim of dims) count *= Number.isFinite(dim) ? Math.max(0, Math.ceil(dim)) : Infinity;
  return count;
}

function guarded(name, dimsOf) {
  const original = sized[name];
  return function (...args) {
    checkElements(name + '(...)', elementsOf(dimsOf(args)));
    return original(...args);
  };
}

const isSize = (value) => Array.isArray(value) || (value && value.isMatrix);
const allDims = (args) => args.filter((arg) => typeof arg !== 'string').flatMap(sizeEntries);
const GUARDS = {
  zeros: guarded('zeros', allDims),
  ones: guarded('ones', allDims),
  identity: guarded('identity', (args) => {
    const dims = allDims(args);
    return dims.length === 1 ? [dims[0], dims[0]] : dims;
  }),
  random: guarded('random', (args) => (isSize(args[0]) ? sizeEntries(args[0]) : [])),
  randomInt: guarded('randomInt', (args) => (isSize(args[0]) ? sizeEntries(args[0]) : [])),
  resize: guarded('resize', (args) => (args.length > 1 ? sizeEntries(args[1]) : [])),
  range: guarded('range', (args) => {
    if (typeof args[0] === 'string') {
      const parts = args[0].split(':').map(Number);
      return [rangeCount(parts[0], parts.length === 3 ? parts[2] : parts[1], parts.length === 3 ? parts[1] : 1)];
    }
    return [rangeCount(toNumber(args[0]), toNumber(args[1]), args.length > 2 && typeof args[2] !== 'boolean' ? toNumber(args[2]) : 1)];
  }),
};

function evaluate(expression) {
  const node = parse(expression);
  checkTree(node);
  let value = node.compile().evaluate(new Map(Object.entries(GUARDS)));
  if (value && value.isResultSet) value = value.entries[value.entries.length - 1];
  if (value === undefined) throw new Refused('The expression produced no value (remove a trailing semicolon)');
  if (typeof value === 'function') throw new Refused('The result is a function, not a value; call it with arguments');
  if (value && (value.isMatrix || Array.isArray(value))) {
    const count = value.isMatrix ? value.size().reduce((a, b) => a * b, 1) : value.flat(Infinity).length;
    if (count > limits.maxResultElements) {
      throw new Refused('The result has ' + count + ' elements; at most ' + limits.maxResultElements + ' can be returned (summarise it with sum, mean, size or a subset)');
    }
  }
  return { result: format(value, { precision: limits.precision }), type: typeOf(value) };
}

process.on('message', ({ id, expression }) => {
  let reply;
  try {
    reply = { id, ok: true, value: evaluate(expression) };
  } catch (error) {
    reply = { id, ok: false, refused: error instanceof Refused, error: error instanceof Error ? error.message : String(error) };
  }
  process.send(reply);
});
// The parent going away ends the sandbox too.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;

export interface MathSandboxLimits {
  /** Parts (nodes) of the parsed expression. */
  maxNodes: number;
  maxDepth: number;
  /** Largest matrix or range an expression may build. */
  maxElements: number;
  /** Largest matrix returned as a result. */
  maxResultElements: number;
  /** Significant digits of numbers in the result. */
  precision: number;
}

export interface MathSandboxOptions {
  /** Deadline of one evaluation, from the moment it is sent to the sandbox. */
  timeoutMs: number;
  /** V8 heap of the sandbox process; mathjs itself needs about 30 MB. */
  maxHeapMb: number;
  limits: MathSandboxLimits;
}

export const DEFAULT_MATH_SANDBOX_OPTIONS: MathSandboxOptions = {
  timeoutMs: 2_000,
  maxHeapMb: 128,
  limits: { maxNodes: 500, maxDepth: 300, maxElements: 100_000, maxResultElements: 1_000, precision: 14 },
};

export interface MathOutcome {
  /** mathjs's own formatting of the value (units, complex numbers, matrices; strings quoted). */
  result: string;
  /** mathjs's type name: number, Complex, Unit, DenseMatrix, boolean, string... */
  type: string;
}

/** The locked-down mathjs instance in its sandbox process; evaluations run one at a time. */
export class MathSandbox {
  private readonly sandbox: ProcessSandbox<{ expression: string }, MathOutcome>;

  constructor(private readonly options: MathSandboxOptions = DEFAULT_MATH_SANDBOX_OPTIONS) {
    this.sandbox = new ProcessSandbox({
      source: SANDBOX_SOURCE,
      args: [resolvePackage('mathjs'), JSON.stringify(options.limits)],
      timeoutMs: options.timeoutMs,
      maxHeapMb: options.maxHeapMb,
    });
  }

  async evaluate(expression: string, signal?: AbortSignal): Promise<MathOutcome> {
    try {
      return await this.sandbox.call({ expression }, signal);
    } catch (error) {
      throw this.toToolError(error);
    }
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }

  private toToolError(error: unknown): unknown {
    if (error instanceof SandboxReplyError) {
      return toolFailed(error.refused ? error.message : `Could not evaluate the expression: ${error.message}`);
    }
    if (!(error instanceof SandboxFailure)) return error;
    switch (error.kind) {
      case 'timeout':
        return new AgentToolException(
          AgentToolErrorCode.Timeout,
          `The expression took longer than ${this.options.timeoutMs} ms to evaluate; simplify it or use smaller numbers`,
        );
      case 'memory':
        return toolInputTooLarge('The expression needs more memory than the calculator allows; use smaller matrices or ranges');
      case 'cancelled':
        return toolFailed('The calculation was cancelled');
      case 'crashed':
        return toolFailed('The calculator stopped while evaluating the expression');
      case 'start':
        return toolFailed(`The calculator could not start: ${error.message}`);
    }
  }
}
