import type { DynamicModule, ForwardReference, Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { describe, expect, it } from 'vitest';
import { ROLE_MODULES } from 'src/app.module';
import type { GremlinsRole } from 'src/config/roles';
import { RagModule } from 'src/modules/rag/rag.module';

type ModuleImport = Type | DynamicModule | Promise<DynamicModule> | ForwardReference;

/** Every module class reachable from `roots` through their static and dynamic imports. */
function reachableModules(roots: ModuleImport[]): Set<Type> {
  const seen = new Set<Type>();
  const visit = (entry: ModuleImport | undefined): void => {
    if (!entry || entry instanceof Promise) return;
    if ('forwardRef' in entry) return visit(entry.forwardRef() as ModuleImport);
    const moduleClass = 'module' in entry ? entry.module : entry;
    const dynamicImports = 'module' in entry ? (entry.imports ?? []) : [];
    if (seen.has(moduleClass)) return;
    seen.add(moduleClass);
    const staticImports = (Reflect.getMetadata(MODULE_METADATA.IMPORTS, moduleClass) as ModuleImport[] | undefined) ?? [];
    [...staticImports, ...dynamicImports].forEach(visit);
  };
  roots.forEach(visit);
  return seen;
}

describe('role composition', () => {
  // RagModule brings the ingestion workers, the embedder and the vector store: other roles reach
  // RAG through its seam (RagGroundingModule, over the role transport), never by importing it.
  it.each(Object.keys(ROLE_MODULES).filter((role) => role !== 'rag') as GremlinsRole[])('the %s role does not load RagModule', (role) => {
    expect(reachableModules(ROLE_MODULES[role]).has(RagModule)).toBe(false);
  });

  it('the rag role does (the walk finds what it looks for)', () => {
    expect(reachableModules(ROLE_MODULES.rag).has(RagModule)).toBe(true);
  });
});
