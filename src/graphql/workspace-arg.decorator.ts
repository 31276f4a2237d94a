import { Args, ID } from '@nestjs/graphql';
import { WORKSPACE_ARGUMENT } from 'src/common/auth/request-context';

/**
 * The `workspaceId` argument of a workspace-scoped field. The auth guard reads it (see
 * request-context.ts) and resolves the caller's role there; the resolver then uses
 * `@Auth().workspaceId`, never the raw argument. Optional by default: without it the
 * X-Workspace-Id header, then the caller's personal workspace (or the API key's) applies.
 */
export const WorkspaceArg = (options: { required?: boolean } = {}): ParameterDecorator =>
  Args(WORKSPACE_ARGUMENT, {
    type: () => ID,
    nullable: !options.required,
    description: options.required
      ? 'The workspace to act in'
      : 'The workspace to act in; defaults to the X-Workspace-Id header, then your personal workspace',
  });
