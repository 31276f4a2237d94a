import type { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import type { AgentTask } from 'src/modules/agents/runs/agent-task.entity';

/**
 * What each task's model reads first. Rebuilt from stored rows when a task resumes, so it
 * must depend on nothing but the run and the tasks (never on the time or the process).
 */
export function taskPrompt(run: Pick<AgentRun, 'query' | 'knowledgeBaseIds'>, task: AgentTask, dependencies: readonly AgentTask[]): string {
  const parts: string[] = [];
  if (task.key === 'main') parts.push(run.query);
  else parts.push(`The user's request:\n${run.query}`, `Your task:\n${task.instruction}`);
  if (dependencies.length > 0) parts.push(`Results of the tasks yours builds on:\n${dependencies.map(section).join('\n\n')}`);
  if (run.knowledgeBaseIds.length > 0 && task.agentSpec.tools.includes('document_search')) {
    parts.push(`Knowledge bases you may search: ${run.knowledgeBaseIds.join(', ')}`);
  }
  return parts.join('\n\n');
}

export function aggregatePrompt(run: Pick<AgentRun, 'query'>, results: readonly AgentTask[]): string {
  return [
    `The user asked:\n${run.query}`,
    `Your team's results:\n${results.map(section).join('\n\n')}`,
    'Write the final answer to the user from these results.',
  ].join('\n\n');
}

function section(task: AgentTask): string {
  return `### ${task.key} (${task.agent}): ${task.instruction}\n${task.result ?? ''}`;
}
