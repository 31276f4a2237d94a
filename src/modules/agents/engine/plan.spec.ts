import { describe, expect, it } from 'vitest';
import { planResponseSchema, validatePlan } from 'src/modules/agents/engine/plan';

const AGENTS = ['researcher', 'analyst', 'writer'];
const task = (id: string, dependsOn: string[] = [], agent = 'researcher') => ({ id, agent, instruction: `do ${id}`, dependsOn });
const check = (tasks: unknown[], max = 4) => validatePlan(JSON.stringify({ tasks }), AGENTS, max);

describe('validatePlan', () => {
  it('accepts a plan with parallel and dependent tasks', () => {
    const checked = check([task('a'), task('b', [], 'analyst'), task('c', ['a', 'b', 'a'])]);
    expect(checked).toEqual({
      ok: true,
      plan: {
        mode: 'multi',
        tasks: [
          { key: 'a', agent: 'researcher', instruction: 'do a', dependsOn: [] },
          { key: 'b', agent: 'analyst', instruction: 'do b', dependsOn: [] },
          { key: 'c', agent: 'researcher', instruction: 'do c', dependsOn: ['a', 'b'] },
        ],
      },
    });
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no tasks', JSON.stringify({ tasks: [] }), /tasks/],
    ['too many tasks', JSON.stringify({ tasks: [task('a'), task('b'), task('c')] }), /tasks/],
    ['unknown fields', JSON.stringify({ tasks: [{ ...task('a'), priority: 1 }] }), /priority/],
    ['an extra top-level field', JSON.stringify({ tasks: [task('a')], note: 'x' }), /note/],
    ['a bad id', JSON.stringify({ tasks: [task('a b')] }), /ids are/],
  ])('refuses %s', (_label, content, problem) => {
    const checked = validatePlan(content, AGENTS, 2);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problem).toMatch(problem);
  });

  it('refuses what a schema cannot say: agents, duplicates, reserved ids, missing dependencies, cycles', () => {
    const problem = (tasks: unknown[]) => {
      const checked = check(tasks);
      return checked.ok ? null : checked.problem;
    };
    expect(problem([task('a', [], 'astrologer')])).toMatch(/agent "astrologer" is not one of researcher, analyst, writer/);
    expect(problem([task('a'), task('a')])).toMatch(/used twice/);
    expect(problem([task('aggregate')])).toMatch(/reserved/);
    expect(problem([task('a', ['z'])])).toMatch(/depends on "z", which is not a task/);
    expect(problem([task('a', ['a'])])).toMatch(/depends on itself/);
    expect(problem([task('a', ['c']), task('b', ['a']), task('c', ['b'])])).toMatch(/cycle: a -> c -> b -> a/);
  });

  it('gives the planner a response format limited to the allowed agents', () => {
    const schema = planResponseSchema(AGENTS) as any;
    expect(schema.properties.tasks.items.properties.agent).toEqual({ enum: AGENTS });
    expect(schema.properties.tasks.items.required).toEqual(['id', 'agent', 'instruction', 'dependsOn']);
  });
});
