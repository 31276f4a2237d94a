import { OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import type { AgentTool, AgentToolContext, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import { AgentToolErrorCode, AgentToolException, toolFailed, toolInputTooLarge } from 'src/modules/agents/tools/agent-tool.exception';
import { ChartSpecError, ChartSpecLimits, checkChartSpec, DEFAULT_CHART_SPEC_LIMITS } from 'src/modules/agents/tools/chart-spec-guard';
import { ProcessSandbox, resolvePackage, SandboxFailure, SandboxReplyError } from 'src/modules/agents/tools/process-sandbox';
import { jsonContent, truncateText } from 'src/modules/agents/tools/tool-output';

/*
 * Vega-Lite is compiled with vega-lite 5 and rendered headless by vega 5 (renderer "none",
 * toSVG) in a sandbox process (see process-sandbox.ts), with a loader that refuses every URL
 * and file: the spec guard has already refused anything that would load, this is the second
 * lock. vega/vega-lite 5 are kept because they load as CommonJS; 6 is ESM-only.
 */
const RENDER_SOURCE = `
'use strict';
const vega = require(process.argv[1]);
const vl = require(process.argv[2]);
const refuse = () => Promise.reject(new Error('charts may not load external resources'));
const loader = { load: refuse, sanitize: refuse, http: refuse, file: refuse };

function collectingLogger(messages) {
  let level = vega.Warn;
  const add = (kind) => (...args) => {
    if (messages.length < 20) messages.push({ kind, text: args.map(String).join(' ').slice(0, 300) });
    return logger;
  };
  const logger = {
    level(value) { if (value === undefined) return level; level = value; return logger; },
    error: add('error'),
    warn: add('warn'),
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

async function render(spec) {
  const messages = [];
  const logger = collectingLogger(messages);
  const compiled = vl.compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader, logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    const errors = messages.filter((m) => m.kind === 'error');
    if (errors.length > 0) throw new Error(errors[0].text);
    return { svg, warnings: messages.filter((m) => m.kind === 'warn').map((m) => m.text).slice(0, 5) };
  } finally {
    view.finalize();
  }
}

process.on('message', ({ id, spec }) => {
  render(spec).then(
    (value) => process.send({ id, ok: true, value }),
    (error) => process.send({ id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;

export interface ChartGeneratorOptions {
  timeoutMs: number;
  maxHeapMb: number;
  /** The rendered chart may not be larger than this, in pixels each way. */
  maxOutputPixels: number;
  /** Largest SVG kept. */
  maxSvgBytes: number;
  spec: ChartSpecLimits;
}

export const DEFAULT_CHART_GENERATOR_OPTIONS: ChartGeneratorOptions = {
  timeoutMs: 15_000,
  maxHeapMb: 256,
  maxOutputPixels: 4_000,
  maxSvgBytes: 5 * 1024 * 1024,
  spec: DEFAULT_CHART_SPEC_LIMITS,
};

const argsSchema = z.strictObject({
  spec: z
    .union([z.record(z.string(), z.unknown()), z.string().max(DEFAULT_CHART_SPEC_LIMITS.maxSpecChars)])
    .describe(
      'A Vega-Lite v5 spec (an object, or its JSON text) with the data inline in data.values, e.g. ' +
        '{"data": {"values": [{"a": "x", "b": 3}]}, "mark": "bar", "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}}}',
    ),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'letters, digits, - and _ only (at most 40)')
    .default('chart')
    .describe('File name of the chart, without extension'),
});

export type ChartGeneratorArgs = z.infer<typeof argsSchema>;

interface Rendered {
  svg: string;
  warnings: string[];
}

/** Renders a Vega-Lite chart to SVG and PNG on the server; the files come back as artifacts. */
export class ChartGeneratorTool implements AgentTool<ChartGeneratorArgs>, OnModuleDestroy {
  readonly name = 'chart_generator' as const;
  readonly description = 'Renders a chart from a Vega-Lite v5 spec with its data inline (data.values) and returns it as SVG and PNG files.';
  readonly argsSchema = argsSchema;
  private readonly sandbox: ProcessSandbox<{ spec: Record<string, unknown> }, Rendered>;

  constructor(private readonly options: ChartGeneratorOptions = DEFAULT_CHART_GENERATOR_OPTIONS) {
    this.sandbox = new ProcessSandbox({
      source: RENDER_SOURCE,
      args: [resolvePackage('vega'), resolvePackage('vega-lite')],
      timeoutMs: options.timeoutMs,
      maxHeapMb: options.maxHeapMb,
    });
  }

  isAvailable(): boolean {
    return true;
  }

  async run(args: ChartGeneratorArgs, context: AgentToolContext): Promise<AgentToolResult> {
    const spec = typeof args.spec === 'string' ? parseSpec(args.spec) : args.spec;
    let dataRows: number;
    try {
      dataRows = checkChartSpec(spec, this.options.spec).dataRows;
    } catch (error) {
      if (!(error instanceof ChartSpecError)) throw error;
      throw /characters; at most|data rows/.test(error.message)
        ? toolInputTooLarge(error.message)
        : toolFailed(`The chart spec is not allowed: ${error.message}`);
    }
    const rendered = await this.render(spec as Record<string, unknown>, context.signal);
    const svg = Buffer.from(rendered.svg, 'utf8');
    if (svg.length > this.options.maxSvgBytes) throw toolInputTooLarge(`The chart's SVG is larger than ${this.options.maxSvgBytes} bytes`);
    const { width, height } = svgSize(rendered.svg);
    const max = this.options.maxOutputPixels;
    if (!(width > 0 && height > 0)) throw toolFailed('The chart rendered empty; check the mark and encoding');
    if (width > max || height > max) throw toolInputTooLarge(`The chart is ${width}×${height} pixels; at most ${max}×${max} are allowed`);
    // sharp (libvips, ~20 MB resident) loads with the first chart, not at boot.
    const { default: sharp } = await import('sharp');
    const png = await sharp(svg, { limitInputPixels: max * max })
      .png()
      .toBuffer();
    const body = {
      chart: args.name,
      files: [`${args.name}.svg`, `${args.name}.png`],
      width,
      height,
      dataRows,
      ...(rendered.warnings.length > 0 ? { warnings: rendered.warnings.map((warning) => truncateText(warning, 300)) } : {}),
    };
    return {
      content: jsonContent(body),
      data: body,
      artifacts: [
        { name: `${args.name}.svg`, mediaType: 'image/svg+xml', bytes: svg },
        { name: `${args.name}.png`, mediaType: 'image/png', bytes: png },
      ],
    };
  }

  onModuleDestroy(): Promise<void> {
    return this.sandbox.close();
  }

  private async render(spec: Record<string, unknown>, signal: AbortSignal): Promise<Rendered> {
    try {
      return await this.sandbox.call({ spec }, signal);
    } catch (error) {
      if (error instanceof SandboxReplyError) throw toolFailed(`The chart could not be rendered: ${truncateText(error.message, 500)}`);
      if (!(error instanceof SandboxFailure)) throw error;
      switch (error.kind) {
        case 'timeout':
          throw new AgentToolException(
            AgentToolErrorCode.Timeout,
            `The chart took longer than ${this.options.timeoutMs} ms to render; use fewer data points`,
          );
        case 'memory':
          throw toolInputTooLarge('The chart needs more memory than the renderer allows; use fewer data points');
        case 'cancelled':
          throw toolFailed('The chart was cancelled');
        case 'crashed':
        case 'start':
          throw toolFailed(`The chart renderer failed: ${error.message}`);
      }
    }
  }
}

function parseSpec(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw toolFailed(`The chart spec is not valid JSON: ${(error as Error).message}`);
  }
}

/** The root element's size as vega writes it (`<svg ... width="348" height="257"`). */
function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const attribute = (name: string) => Number(new RegExp(`\\s${name}="([\\d.]+)"`).exec(root)?.[1] ?? NaN);
  return { width: attribute('width'), height: attribute('height') };
}
