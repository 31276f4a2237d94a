import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { grammarSchema } from 'src/modules/agents/engine/json-schema';

describe('grammarSchema', () => {
  it('keeps what constrained decoders understand and drops the rest', () => {
    const schema = z.toJSONSchema(
      z.strictObject({
        query: z.string().min(1).max(200).describe('what to find'),
        mode: z.enum(['a', 'b']),
        limit: z.int().min(1).max(20).optional(),
        ids: z.array(z.uuid()).max(3),
        either: z.union([z.string().min(2), z.strictObject({ a: z.number() })]),
      }),
    );
    expect(grammarSchema(schema)).toEqual({
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 200, description: 'what to find' },
        mode: { enum: ['a', 'b'] },
        limit: { type: 'integer' },
        ids: { type: 'array', maxItems: 3, items: { type: 'string' } },
        either: {
          oneOf: [
            { type: 'string', minLength: 2 },
            { type: 'object', properties: { a: { type: 'number' } }, required: ['a'], additionalProperties: false },
          ],
        },
      },
      required: ['query', 'mode', 'ids', 'either'],
      additionalProperties: false,
    });
  });

  it('turns a non-schema into a free-form object', () => {
    expect(grammarSchema(null)).toEqual({ type: 'object', additionalProperties: true });
  });
});
