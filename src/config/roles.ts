/**
 * Process roles. `GREMLINS_ROLES` picks which of them run in one process; the default
 * runs all of them. Later modules add their own role here (router, rag, agents, ...).
 */
export const ALL_ROLES = ['api', 'scheduler', 'router', 'rag', 'agents'] as const;
export type GremlinsRole = (typeof ALL_ROLES)[number];
