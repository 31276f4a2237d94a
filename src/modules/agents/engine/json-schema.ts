/**
 * JSON schemas the engine hands to models: tool argument schemas (native tools) and the
 * response formats of JSON tool mode and the planner. Response formats are reduced to the
 * keywords every backend's constrained decoder understands (Ollama's and llama.cpp's
 * grammars, OpenAI's json_schema); the output is validated with zod afterwards anyway.
 */

type Schema = Record<string, unknown>;

const KEPT = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'description',
]);

/** The grammar-safe part of a JSON schema (z.toJSONSchema output): constraints it cannot express are left to validation. */
export function grammarSchema(schema: unknown): Schema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return { type: 'object', additionalProperties: true };
  const source = schema as Schema;
  const description = typeof source.description === 'string' ? { description: source.description } : {};
  if (Array.isArray(source.enum)) return { enum: source.enum, ...description };
  if ('const' in source) return { const: source.const, ...description };
  const alternatives = source.oneOf ?? source.anyOf;
  if (Array.isArray(alternatives)) return { oneOf: alternatives.map((alternative) => grammarSchema(alternative)), ...description };
  const result: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (!KEPT.has(key)) continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      result.properties = Object.fromEntries(Object.entries(value as Schema).map(([name, property]) => [name, grammarSchema(property)]));
    } else if (key === 'items' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      result.items = grammarSchema(value);
    } else if (key === 'prefixItems' && Array.isArray(value)) {
      result.prefixItems = value.map((item) => grammarSchema(item));
    } else if (key === 'additionalProperties' && typeof value === 'object' && value !== null) {
      result.additionalProperties = grammarSchema(value);
    } else {
      result[key] = value;
    }
  }
  if (result.type === 'string' && 'format' in source && ['date-time', 'date', 'time'].includes(String(source.format))) {
    result.format = source.format;
  }
  return result;
}
