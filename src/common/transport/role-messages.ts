import type { ProcessIdentity } from 'src/common/transport/process-identity';
import type { GremlinsRole } from 'src/config/roles';
import { ALL_ROLES } from 'src/config/roles';
import type { MaintenanceRunRequest, MaintenanceRunResult } from 'src/modules/maintenance/maintenance.messages';
import type {
  DocumentRead,
  DocumentReadRequest,
  GroundingRequest,
  GroundingResult,
  KnowledgeBaseCheck,
  KnowledgeSearchRequest,
  KnowledgeSearchResult,
} from 'src/modules/rag/grounding/grounding.contract';

interface Message<Request, Response> {
  request: Request;
  response: Response;
}

export interface PingResult {
  role: GremlinsRole;
  version: string;
  process: ProcessIdentity;
}

/**
 * Every cross-role request: pattern -> payload and answer. The first segment of a pattern
 * names the role that answers it; `RoleClient` uses it to decide between a local call and
 * the network. Handlers are `@MessagePattern(pattern)` methods in the owning module.
 */
export interface RoleMessages {
  'scheduler.maintenance.run': Message<MaintenanceRunRequest, MaintenanceRunResult>;
  'rag.grounding.require-knowledge-bases': Message<KnowledgeBaseCheck, KnowledgeBaseCheck>;
  'rag.grounding.retrieve': Message<GroundingRequest, GroundingResult>;
  'rag.grounding.search': Message<KnowledgeSearchRequest, KnowledgeSearchResult>;
  'rag.grounding.read-document': Message<DocumentReadRequest, DocumentRead>;
}

/** Every process answers `<role>.system.ping` for each role it runs (see system-ping.handler.ts). */
type PingMessages = { [R in GremlinsRole as `${R}.system.ping`]: Message<Record<string, never>, PingResult> };

export type RoleMessageMap = RoleMessages & PingMessages;
export type RolePattern = keyof RoleMessageMap;
export type RoleRequest<P extends RolePattern> = RoleMessageMap[P]['request'];
export type RoleResponse<P extends RolePattern> = RoleMessageMap[P]['response'];

// Compile-time check that no pattern escapes the role namespace.
type Namespaced<T extends `${GremlinsRole}.${string}`> = T;
export type _EveryPatternIsNamespaced = Namespaced<RolePattern>;

export const pingPattern = <R extends GremlinsRole>(role: R): `${R}.system.ping` => `${role}.system.ping`;

export function roleOfPattern(pattern: string): GremlinsRole {
  const role = pattern.slice(0, pattern.indexOf('.'));
  if (!(ALL_ROLES as readonly string[]).includes(role)) throw new Error(`Pattern ${pattern} does not start with a known role`);
  return role as GremlinsRole;
}

/** `@MessagePattern(rolePattern('scheduler.maintenance.run'))`: a typo fails to compile. */
export const rolePattern = <P extends RolePattern>(pattern: P): P => pattern;
