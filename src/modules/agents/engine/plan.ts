import { z } from 'zod';
import type { AgentSpec } from 'src/modules/agents/definitions/agent-spec';
import type { RunPlan } from 'src/modules/agents/runs/agent-run.entity';

/** Task keys the engine uses itself. */
export const RESERVED_TASK_KEYS = ['plan', 'main', 'aggregate'];
const MAX_INSTRUCTION_CHARS = 4_000;

const plannedTask = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'ids are 1 to 40 letters, digits, _ or -'),
  agent: z.string().min(1).max(40),
  instruction: z.string().trim().min(1).max(MAX_INSTRUCTION_CHARS),
  dependsOn: z.array(z.string()).max(50),
});

export type PlannedTask = z.infer<typeof plannedTask>;

/** What the planner must produce; checked by `validatePlan`. */
export function planSchema(maxTasks: number) {
  return z.strictObject({ tasks: z.array(plannedTask).min(1).max(maxTasks) });
}

/** The response format the planner is held to (Ollama format / llama.cpp grammar / OpenAI json_schema). */
export function planResponseSchema(agents: readonly string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      tasks: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          properties: {
            id: { type: 'string', maxLength: 40 },
            agent: { enum: [...agents] },
            instruction: { type: 'string', maxLength: MAX_INSTRUCTION_CHARS },
            dependsOn: { type: 'array', items: { type: 'string', maxLength: 40 } },
          },
          required: ['id', 'agent', 'instruction', 'dependsOn'],
          additionalProperties: false,
        },
      },
    },
    required: ['tasks'],
    additionalProperties: false,
  };
}

export type PlanCheck = { ok: true; plan: RunPlan } | { ok: false; problem: string };

/**
 * Parses and checks the planner's reply: the JSON shape, then what a schema cannot say:
 * unique ids, agents this run may use, dependencies that exist, and no cycles.
 */
export function validatePlan(content: string, allowedAgents: readonly string[], maxTasks: number): PlanCheck {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return { ok: false, problem: 'the reply is not JSON' };
  }
  const parsed = planSchema(maxTasks).safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 6).map((issue) => `${issue.path.map(String).join('.') || '(plan)'}: ${issue.message}`);
    return { ok: false, problem: issues.join('; ') };
  }
  const tasks = parsed.data.tasks;
  const ids = new Set<string>();
  for (const task of tasks) {
    if (RESERVED_TASK_KEYS.includes(task.id)) return { ok: false, problem: `task id "${task.id}" is reserved` };
    if (ids.has(task.id)) return { ok: false, problem: `task id "${task.id}" is used twice` };
    ids.add(task.id);
    if (!allowedAgents.includes(task.agent)) {
      return { ok: false, problem: `task ${task.id}: agent "${task.agent}" is not one of ${allowedAgents.join(', ')}` };
    }
  }
  for (const task of tasks) {
    for (const dependency of task.dependsOn) {
      if (!ids.has(dependency))
        return { ok: false, problem: `task ${task.id} depends on "${dependency}", which is not a task of the plan` };
      if (dependency === task.id) return { ok: false, problem: `task ${task.id} depends on itself` };
    }
  }
  const cycle = findCycle(tasks);
  if (cycle) return { ok: false, problem: `tasks depend on each other in a cycle: ${cycle.join(' -> ')}` };
  return {
    ok: true,
    plan: {
      mode: 'multi',
      tasks: tasks.map((task) => ({
        key: task.id,
        agent: task.agent,
        instruction: task.instruction,
        dependsOn: [...new Set(task.dependsOn)],
      })),
    },
  };
}

function findCycle(tasks: readonly PlannedTask[]): string[] | null {
  const dependencies = new Map(tasks.map((task) => [task.id, task.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dependency of dependencies.get(id) ?? []) {
      const cycle = visit(dependency);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const task of tasks) {
    const cycle = visit(task.id);
    if (cycle) return cycle;
  }
  return null;
}

export function plannerSystemPrompt(agents: readonly AgentSpec[], maxTasks: number): string {
  const roster = agents.map((agent) => `- ${agent.name}: ${agent.description} (tools: ${agent.tools.join(', ') || 'none'})`).join('\n');
  return [
    'You plan the work of a team of AI agents. Split the user request into at most',
    `${maxTasks} tasks, each for one of these agents:\n${roster}\n`,
    'Each task has an id (short, such as t1), an agent, an instruction and dependsOn: the ids of the tasks whose results',
    'it needs. The agent of a task sees only its instruction, the user request and the results of the tasks it depends on,',
    'so make each instruction self-contained. Tasks that do not depend on each other run at the same time: only add a',
    'dependency when a task really needs another one’s result. Do not add a task that writes the final answer; a writer',
    'combines the results after the last task.\n',
    'Reply with JSON only: {"tasks": [{"id": "t1", "agent": "...", "instruction": "...", "dependsOn": []}]}',
  ].join(' ');
}

export function planCorrection(problem: string): string {
  return `That plan cannot be used: ${problem}. Reply with a corrected plan as JSON only, in the same form.`;
}
