import { describe, expect, it } from 'vitest';
import * as statements from 'src/modules/agents/runs/run-statements';
import { admitRunStatements, RunStatement } from 'src/modules/agents/runs/run-statements';

const RUN_ID = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';

describe('run statements', () => {
  it('gives every prepared statement its own name (pg refuses one name for two texts on a connection)', () => {
    const prepared = Object.values(statements).filter(
      (value): value is RunStatement => typeof value === 'object' && value !== null && 'name' in value && 'text' in value,
    );
    expect(prepared.length).toBeGreaterThan(5);
    expect(new Set(prepared.map((statement) => statement.name)).size).toBe(prepared.length);
    for (const statement of prepared) expect(statement.text).toMatch(/\$1\b/);
  });

  it('writes the admission with the run id and limits it was given', () => {
    const sql = admitRunStatements(RUN_ID, ['planning', 'running'], 4);
    expect(
      sql
        .trim()
        .split(';')
        .filter((part) => part.trim()).length,
    ).toBe(4);
    expect(sql).toContain(`'${RUN_ID}'::uuid`);
    expect(sql).toContain(`a.status IN ('planning', 'running')) < 4`);
  });

  it('refuses values that are not a run id or a count, since they are written into the SQL', () => {
    expect(() => admitRunStatements(`${RUN_ID}'; DROP TABLE agent_runs; --`, ['running'], 4)).toThrow(RangeError);
    expect(() => admitRunStatements('not-a-uuid', ['running'], 4)).toThrow(RangeError);
    expect(() => admitRunStatements(RUN_ID, ['running'], 1.5)).toThrow(RangeError);
    expect(() => admitRunStatements(RUN_ID, ["running') OR (true"], 4)).not.toThrow();
    expect(admitRunStatements(RUN_ID, ["running') OR (true"], 4)).toContain(`IN ('running'') OR (true')`);
  });
});
