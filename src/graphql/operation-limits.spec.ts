import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { maxAliasesRule, maxDepthRule } from 'src/graphql/operation-limits';

const schema = buildSchema(`
  type Node { id: ID! child: Node name: String }
  type Query { node: Node login(password: String): String }
`);

function errors(query: string, rules = [maxDepthRule(3), maxAliasesRule(2)]): string[] {
  return validate(schema, parse(query), [...specifiedRules, ...rules]).map((error) => error.message);
}

describe('operation limits', () => {
  it('accepts a document within the limits', () => {
    expect(errors('{ node { child { id } } a: login b: login }')).toEqual([]);
  });

  it('counts depth through fragments and inline fragments, but not introspection', () => {
    expect(errors('{ node { child { child { id } } } }')).toEqual(['Query is too deep: 4 levels, at most 3']);
    expect(errors('{ node { ...F } } fragment F on Node { child { ... on Node { child { id } } } }')).toEqual([
      'Query is too deep: 4 levels, at most 3',
    ]);
    expect(errors('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }')).toEqual([]);
  });

  it('stays linear on fragments that spread each other many times', () => {
    // 40 levels of "spread the next fragment twice": 2^40 paths if each spread were re-walked.
    const fragments = Array.from(
      { length: 40 },
      (_, index) => `fragment F${index} on Node { id ${index < 39 ? `...F${index + 1} ...F${index + 1}` : ''} }`,
    );
    const started = Date.now();
    const result = validate(schema, parse(`{ node { ...F0 } } ${fragments.join(' ')}`), [maxDepthRule(3)]);
    expect(result).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('does not loop on fragment cycles (graphql-js reports those itself)', () => {
    expect(errors('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }')).toContain(
      'Cannot spread fragment "A" within itself via "B".',
    );
  });

  it('limits aliases per document', () => {
    expect(errors('{ a: login b: login c: login }')).toEqual(['Too many aliases: at most 2 per document']);
  });
});
