import { FragmentDefinitionNode, GraphQLError, Kind, SelectionSetNode, ValidationContext, ValidationRule } from 'graphql';

/**
 * Bounds on one GraphQL document, so that a single request cannot cost what thousands
 * would: the rate limit counts requests, and aliases let one request run a field (say
 * `login`) many times, while deep nesting multiplies database work.
 */
export const OPERATION_LIMITS = {
  /** Parser tokens; stops a huge document before validation walks it. */
  maxTokens: 5_000,
  /** Nested selection depth, not counting introspection (`__schema`, `__type`). */
  maxDepth: 12,
  /** Aliased fields in the whole document. */
  maxAliases: 10,
} as const;

export function maxAliasesRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias && ++aliases === max + 1) {
          context.reportError(new GraphQLError(`Too many aliases: at most ${max} per document`, { nodes: [node] }));
        }
      },
    };
  };
}

export function maxDepthRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    // A fragment's depth does not depend on where it is spread: measure each once, so a
    // chain of fragments spreading each other twice stays linear, not exponential.
    const fragmentDepths = new Map<string, number>();
    const depthOf = (selectionSet: SelectionSetNode): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        switch (selection.kind) {
          case Kind.FIELD:
            if (selection.name.value.startsWith('__')) break;
            deepest = Math.max(deepest, 1 + (selection.selectionSet ? depthOf(selection.selectionSet) : 0));
            break;
          case Kind.INLINE_FRAGMENT:
            deepest = Math.max(deepest, depthOf(selection.selectionSet));
            break;
          case Kind.FRAGMENT_SPREAD: {
            const name = selection.name.value;
            if (!fragmentDepths.has(name)) {
              // Marked before descending: a cycle (reported by NoFragmentCyclesRule) ends here.
              fragmentDepths.set(name, 0);
              const fragment = fragments.get(name);
              fragmentDepths.set(name, fragment ? depthOf(fragment.selectionSet) : 0);
            }
            deepest = Math.max(deepest, fragmentDepths.get(name) ?? 0);
            break;
          }
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet);
        if (depth > max) {
          context.reportError(new GraphQLError(`Query is too deep: ${depth} levels, at most ${max}`, { nodes: [operation] }));
        }
      },
    };
  };
}

export const operationLimitRules: ValidationRule[] = [maxDepthRule(OPERATION_LIMITS.maxDepth), maxAliasesRule(OPERATION_LIMITS.maxAliases)];
