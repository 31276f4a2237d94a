// Written by `npm run migration:generate`: every migration class, oldest first.
import { Initial1795596680109 } from './1795596680109-Initial';
import { ModelRegistry1795601606415 } from './1795601606415-ModelRegistry';
import { SeedDefaultModels1795601606416 } from './1795601606416-SeedDefaultModels';
import { UsageAndQuotas1795604879466 } from './1795604879466-UsageAndQuotas';
import { Conversations1795605327969 } from './1795605327969-Conversations';
import { Rag1795607855361 } from './1795607855361-Rag';
import { AgentWorkflows1795617388061 } from './1795617388061-AgentWorkflows';
import { ConversationGrounding1795618346646 } from './1795618346646-ConversationGrounding';

export const MIGRATIONS: Function[] = [
  Initial1795596680109,
  ModelRegistry1795601606415,
  SeedDefaultModels1795601606416,
  UsageAndQuotas1795604879466,
  Conversations1795605327969,
  Rag1795607855361,
  AgentWorkflows1795617388061,
  ConversationGrounding1795618346646,
];
