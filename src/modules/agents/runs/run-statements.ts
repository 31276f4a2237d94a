import { starterQuery } from 'src/modules/agents/runs/run-access.repository';

/**
 * A fixed statement of the engine's hot path (one round trip for what the query builder
 * would take several for). On PostgreSQL it runs as a named prepared statement: each pooled
 * connection parses and plans it once instead of at every call, which for these CTEs was
 * about half of their time in the database (0.5 to 0.9 ms a statement, measured).
 */
export interface RunStatement {
  /** The prepared statement's name: unique per text within a connection. */
  readonly name: string;
  readonly text: string;
}

const statement = (name: string, text: string): RunStatement => ({ name: `agents_${name}`, text });

/**
 * The CTE `d` that takes one pending dependency off every task depending on the task just
 * completed by the CTE `t` (whose key is `key`), and queues those left with none. Row locks
 * order concurrent completions, so exactly one of them sees a dependent's count reach zero.
 */
const dependentsCte = (runId: string, key: string) => `d AS (
         UPDATE agent_run_tasks SET pending_dependencies = pending_dependencies - 1, updated_at = now(),
                status = CASE WHEN pending_dependencies = 1 AND status = 'pending' THEN 'queued' ELSE status END
          WHERE run_id = ${runId} AND ${key} = ANY(depends_on) AND EXISTS (SELECT 1 FROM t)
          RETURNING to_jsonb(agent_run_tasks.*) AS task, (pending_dependencies = 0 AND status = 'queued') AS ready
       )`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Admission of run `runId` as one simple-protocol query (see `RunsRepository.admit`): the
 * workspace's advisory lock, then, each with a snapshot taken once the lock is held, the
 * admission (the run's new row when it took a slot), the mark of a run left waiting for one,
 * and the run as it now is. The statements share one implicit transaction, so the lock is
 * held until all are done: four round trips (begin, lock, update, commit) become one. A
 * simple query carries no parameters, so the values are checked and written in.
 */
export function admitRunStatements(runId: string, activeStatuses: readonly string[], maxActive: number): string {
  if (!UUID.test(runId)) throw new RangeError(`Not a run id: ${runId}`);
  if (!Number.isSafeInteger(maxActive)) throw new RangeError(`Not a run count: ${maxActive}`);
  const id = `'${runId}'::uuid`;
  const active = activeStatuses.map((status) => `'${status.replace(/'/g, "''")}'`).join(', ');
  return `
    SELECT pg_advisory_xact_lock(hashtext('agent-runs:' || workspace_id::text)) FROM agent_runs WHERE id = ${id};
    UPDATE agent_runs me SET status = 'planning', waiting_for_slot = false, started_at = now(), updated_at = now(),
           deadline_at = now() + ((limits->>'timeoutMs')::int * interval '1 millisecond')
     WHERE me.id = ${id} AND me.status = 'queued'
       AND (SELECT count(*) FROM agent_runs a WHERE a.workspace_id = me.workspace_id AND a.status IN (${active})) < ${maxActive}
       AND NOT EXISTS (SELECT 1 FROM agent_runs w WHERE w.workspace_id = me.workspace_id AND w.status = 'queued' AND w.waiting_for_slot
                         AND w.id <> me.id AND (w.priority > me.priority OR (w.priority = me.priority AND w.created_at < me.created_at)))
     RETURNING to_jsonb(me.*) AS run;
    UPDATE agent_runs SET waiting_for_slot = true WHERE id = ${id} AND status = 'queued' RETURNING id;
    SELECT to_jsonb(r.*) AS run FROM agent_runs r WHERE r.id = ${id};`;
}

/** The planner's task, inserted once, with its stored steps. */
export const ENSURE_TASK = statement(
  'ensure_task',
  `INSERT INTO agent_run_tasks (run_id, key, kind, position, agent, agent_spec, instruction, depends_on, final, status, started_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, 'running', now())
       ON CONFLICT (run_id, key) DO UPDATE SET updated_at = agent_run_tasks.updated_at
       RETURNING to_jsonb(agent_run_tasks.*) AS task,
                 COALESCE((SELECT jsonb_agg(to_jsonb(s.*) ORDER BY s.sequence) FROM agent_run_steps s WHERE s.task_id = agent_run_tasks.id),
                          '[]'::jsonb) AS steps`,
);

/**
 * The plan's tasks and the run moved to `running`, in one statement. The first step of each
 * task without dependencies ($7 of them) is taken from the run's limits here, when all fit:
 * the run's row is being updated anyway, and those tasks, starting at once side by side,
 * then claim without each taking the run's row in turn.
 */
export const CREATE_TASKS = statement(
  'create_tasks',
  `WITH room AS (
         SELECT id, step_count + $7 <= (limits->>'maxSteps')::int AS fits FROM agent_runs WHERE id = $1 AND status = ANY($6) FOR UPDATE
       ), run AS (
         UPDATE agent_runs SET status = 'running', plan = $2::jsonb, resolved_mode = $3, complexity = $4::jsonb, updated_at = now(),
                step_count = step_count + CASE WHEN (SELECT fits FROM room) THEN $7 ELSE 0 END
          WHERE id = (SELECT id FROM room) RETURNING id
       ), added AS (
         INSERT INTO agent_run_tasks (run_id, key, kind, position, agent, agent_spec, instruction, depends_on, pending_dependencies, final, status,
                                      step_count)
         SELECT run.id, x.key, x.kind, x.position, x.agent, x.agent_spec, x.instruction,
                ARRAY(SELECT jsonb_array_elements_text(x.depends_on)), jsonb_array_length(x.depends_on), x.final,
                CASE WHEN jsonb_array_length(x.depends_on) = 0 THEN 'queued' ELSE 'pending' END,
                CASE WHEN jsonb_array_length(x.depends_on) = 0 AND (SELECT fits FROM room) THEN 1 ELSE 0 END
           FROM run, jsonb_to_recordset($5::jsonb) AS x(key text, kind text, position int, agent text, agent_spec jsonb,
                                                      instruction text, depends_on jsonb, final boolean)
         ON CONFLICT (run_id, key) DO NOTHING
         RETURNING *
       )
       SELECT (SELECT count(*) FROM run)::int AS active,
              COALESCE((SELECT jsonb_agg(to_jsonb(added.*) ORDER BY added.position) FROM added), '[]'::jsonb) AS added`,
);

/**
 * A task claimed, with its run, steps and dependencies. A task with no stored step needs its
 * first one reserved: taken from the limits now, unless it already was (when its tasks were
 * made, or by a claim whose execution stopped before storing a step: its step count says so).
 */
export const CLAIM_TASK = statement(
  'claim_task',
  `WITH open AS (
         SELECT t.id, t.run_id, t.step_count FROM agent_run_tasks t JOIN agent_runs r ON r.id = t.run_id
          WHERE t.id = $1 AND r.status = ANY($2) AND t.status IN ('pending', 'queued', 'running')
       ), fresh AS (
         SELECT step_count > 0 AS reserved_before FROM open WHERE NOT EXISTS (SELECT 1 FROM agent_run_steps s WHERE s.task_id = $1)
       ), reserved AS (
         UPDATE agent_runs SET step_count = step_count + 1, updated_at = now()
          WHERE id = (SELECT run_id FROM open) AND EXISTS (SELECT 1 FROM fresh WHERE NOT reserved_before) AND status = ANY($2)
            AND step_count < (limits->>'maxSteps')::int
          RETURNING prompt_tokens + completion_tokens AS used
       ), c AS (
         UPDATE agent_run_tasks t SET status = 'running', started_at = COALESCE(t.started_at, now()), updated_at = now(),
                step_count = t.step_count + (SELECT count(*) FROM reserved)
           FROM agent_runs r
          WHERE t.id = $1 AND r.id = t.run_id AND r.status = ANY($2) AND t.status IN ('pending', 'queued', 'running')
          RETURNING to_jsonb(t.*) AS task, to_jsonb(r.*) AS run, (t.started_at = now()) AS first_start, t.run_id, t.depends_on,
                    r.user_id, r.workspace_id, r.api_key_id, r.prompt_tokens + r.completion_tokens AS used
       )
       SELECT c.task, c.run, c.first_start AS "firstStart",
              COALESCE((SELECT jsonb_agg(to_jsonb(s.*) ORDER BY s.sequence) FROM agent_run_steps s WHERE s.task_id = $1), '[]'::jsonb) AS steps,
              COALESCE((SELECT jsonb_agg(to_jsonb(d.*) ORDER BY d.position) FROM agent_run_tasks d
                         WHERE d.run_id = c.run_id AND d.key = ANY(c.depends_on)), '[]'::jsonb) AS dependencies,
              ((SELECT count(*) FROM reserved) + (SELECT count(*) FROM fresh WHERE reserved_before))::int AS reserved,
              COALESCE((SELECT used FROM reserved), c.used)::int AS used,
              (SELECT to_jsonb(x) FROM (${starterQuery('c.user_id', 'c.workspace_id', 'c.api_key_id')}) x) AS starter
         FROM c`,
);

/** One step taken from the run's and the task's limits, with the starter's access. */
export const RESERVE_STEP = statement(
  'reserve_step',
  `WITH r AS (
         UPDATE agent_runs SET step_count = step_count + 1, tool_call_count = tool_call_count + $3, updated_at = now()
          WHERE id = $1 AND status = ANY($4)
            AND step_count < (limits->>'maxSteps')::int AND tool_call_count + $3 <= (limits->>'maxToolCalls')::int
          RETURNING id, prompt_tokens + completion_tokens AS used
       ), t AS (
         UPDATE agent_run_tasks SET step_count = step_count + 1, tool_call_count = tool_call_count + $3, tool_mode = COALESCE(tool_mode, $8)
          WHERE id = $2 AND EXISTS (SELECT 1 FROM r)
            AND step_count < (agent_spec->>'maxSteps')::int AND tool_call_count + $3 <= (agent_spec->>'maxToolCalls')::int
          RETURNING id
       )
       SELECT (SELECT count(*) FROM r)::int AS "run", (SELECT count(*) FROM t)::int AS "task", (SELECT used FROM r)::int AS "used",
              (SELECT to_jsonb(s) FROM (${starterQuery('$5', '$6::uuid', '$7::uuid')}) s) AS "starter"`,
);

/** The CTE `s` that inserts a step from $1..$21. */
const INSERT_STEP = `s AS (
         INSERT INTO agent_run_steps (run_id, task_id, sequence, type, status, model, routing, content, tool_calls, finish_reason,
                                      prompt_tokens, completion_tokens, tool_name, tool_call_id, arguments, result, data,
                                      error_code, error_message, started_at, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, NULLIF($11, 0), NULLIF($12, 0), $13, $14, $15::jsonb, $16,
                 $17::jsonb, $18, $19, $20, $21)
         RETURNING *
       )`;

/** A step committed with its tokens. */
export const COMMIT_STEP = statement(
  'commit_step',
  `WITH ${INSERT_STEP}, r AS (
         UPDATE agent_runs SET prompt_tokens = prompt_tokens + $11, completion_tokens = completion_tokens + $12, updated_at = now() WHERE id = $1
       )
       SELECT to_jsonb(s.*) AS step FROM s`,
);

/** A step committed and the next one reserved (the tokens ride on the reservation's update of the run row). */
export const COMMIT_STEP_AND_RESERVE = statement(
  'commit_step_reserve',
  `WITH ${INSERT_STEP}, r AS (
         UPDATE agent_runs SET prompt_tokens = prompt_tokens + $11, completion_tokens = completion_tokens + $12,
                step_count = step_count + 1, tool_call_count = tool_call_count + $22, updated_at = now()
          WHERE id = $1 AND status = ANY($23)
            AND step_count < (limits->>'maxSteps')::int AND tool_call_count + $22 <= (limits->>'maxToolCalls')::int
          RETURNING prompt_tokens + completion_tokens AS used
       ), t AS (
         UPDATE agent_run_tasks SET step_count = step_count + 1, tool_call_count = tool_call_count + $22, tool_mode = COALESCE(tool_mode, $27)
          WHERE id = $2 AND EXISTS (SELECT 1 FROM r)
            AND step_count < (agent_spec->>'maxSteps')::int AND tool_call_count + $22 <= (agent_spec->>'maxToolCalls')::int
          RETURNING id
       )
       SELECT to_jsonb(s.*) AS step, (SELECT count(*) FROM r)::int AS "run", (SELECT count(*) FROM t)::int AS "task",
              (SELECT used FROM r)::int AS "used",
              (SELECT to_jsonb(x) FROM (${starterQuery('$24', '$25::uuid', '$26::uuid')}) x) AS "starter"
         FROM s`,
);

/** A step committed and its task completed, the run too for its final task, and the dependents made ready. */
export const COMMIT_STEP_AND_COMPLETE = statement(
  'commit_step_complete',
  `WITH ${INSERT_STEP}, t AS (
         UPDATE agent_run_tasks SET status = 'completed', result = $22, finished_at = now(), updated_at = now(),
                tool_mode = COALESCE(tool_mode, $25)
          WHERE id = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM agent_runs WHERE id = $1 AND status = ANY($23))
          RETURNING id
       ), ${dependentsCte('$1', '$26')}, r AS (
         UPDATE agent_runs SET prompt_tokens = prompt_tokens + $11, completion_tokens = completion_tokens + $12, updated_at = now(),
                status = CASE WHEN $24 AND EXISTS (SELECT 1 FROM t) AND status = ANY($23) THEN 'completed' ELSE status END,
                result = CASE WHEN $24 AND EXISTS (SELECT 1 FROM t) AND status = ANY($23) THEN $22 ELSE result END,
                finished_at = CASE WHEN $24 AND EXISTS (SELECT 1 FROM t) AND status = ANY($23) THEN now() ELSE finished_at END
          WHERE id = $1
          RETURNING *
       )
       SELECT to_jsonb(s.*) AS step, (SELECT count(*) FROM t)::int AS "completed",
              (SELECT to_jsonb(r.*) FROM r WHERE $24 AND r.status = 'completed') AS "finishedRun",
              EXISTS (SELECT 1 FROM agent_runs w, r WHERE w.workspace_id = r.workspace_id AND w.status = 'queued' AND w.waiting_for_slot)
                AS "othersWaiting",
              COALESCE((SELECT jsonb_agg(d.task) FROM d WHERE d.ready), '[]'::jsonb) AS ready
         FROM s`,
);

/** A running task completed (the run too for its final task), and the dependents made ready. */
export const COMPLETE_TASK = statement(
  'complete_task',
  `WITH t AS (
         UPDATE agent_run_tasks SET status = 'completed', result = $2, finished_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'running' AND EXISTS (SELECT 1 FROM agent_runs WHERE id = $3 AND status = ANY($4))
          RETURNING id
       ), ${dependentsCte('$3', '$6')}, r AS (
         UPDATE agent_runs SET status = 'completed', result = $2, finished_at = now(), updated_at = now()
          WHERE id = $3 AND $5 AND status = ANY($4) AND EXISTS (SELECT 1 FROM t)
          RETURNING *
       )
       SELECT (SELECT count(*) FROM t)::int AS changed, (SELECT to_jsonb(r.*) FROM r) AS run,
              EXISTS (SELECT 1 FROM agent_runs w, r WHERE w.workspace_id = r.workspace_id AND w.status = 'queued' AND w.waiting_for_slot)
                AS "othersWaiting",
              COALESCE((SELECT jsonb_agg(d.task) FROM d WHERE d.ready), '[]'::jsonb) AS ready`,
);
