import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AgentArtifact } from 'src/modules/agents/runs/agent-artifact.entity';
import { ACTIVE_RUN_STATUSES, AgentRun, RunPlan, RunStatus, TERMINAL_RUN_STATUSES } from 'src/modules/agents/runs/agent-run.entity';
import { AgentStep } from 'src/modules/agents/runs/agent-step.entity';
import { AgentTask, TaskStatus, ToolMode } from 'src/modules/agents/runs/agent-task.entity';
import { hydrate } from 'src/modules/agents/runs/row-mapper';
import { starterQuery, StarterRow } from 'src/modules/agents/runs/run-access.repository';

/** Whose runs a call may touch: runs are private to the user who started them. */
export interface RunOwner {
  workspaceId: string;
  userId: string;
}

export interface RunPage {
  before?: string;
  limit: number;
}

export type NewRun = Pick<
  AgentRun,
  'workspaceId' | 'userId' | 'apiKeyId' | 'permissions' | 'query' | 'mode' | 'agents' | 'knowledgeBaseIds' | 'priority' | 'limits'
>;

export type NewTask = Pick<AgentTask, 'key' | 'kind' | 'position' | 'agent' | 'agentSpec' | 'instruction' | 'dependsOn' | 'final'>;

export type NewStep = Omit<AgentStep, 'id' | 'createdAt'>;

export interface NewArtifact {
  name: string;
  mediaType: string;
  bytes: Buffer;
}

export interface RunError {
  code: string;
  message: string;
}

/** What completing a task did: whether it changed anything, the run if that completed it, and the tasks it queued. */
export interface TaskCompletion {
  changed: boolean;
  run: AgentRun | null;
  /** Runs of the workspace wait for a slot (only then is the next one admitted). */
  othersWaiting: boolean;
  /** Tasks whose last dependency this was: queued by this completion, to be enqueued by its caller. */
  ready: AgentTask[];
}

/** A step taken from the limits ahead of time, with the starter's access as read then. */
export interface Reservation {
  kind: 'model' | 'tool';
  usedTokens: number;
  starter: StarterRow | null;
}

/** Why a step could not be reserved. */
export type ReserveRefusal = 'not-active' | 'run-steps' | 'run-tool-calls' | 'task-steps' | 'task-tool-calls';

const TERMINAL = TERMINAL_RUN_STATUSES as RunStatus[];
const ACTIVE = ACTIVE_RUN_STATUSES as RunStatus[];
const OPEN_TASK: TaskStatus[] = ['pending', 'queued', 'running'];

/** Runs, their tasks, steps and artifacts: the only code that queries them. */
@Injectable()
export class RunsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  createRun(fields: NewRun): Promise<AgentRun> {
    const runs = this.dataSource.getRepository(AgentRun);
    return runs.save(runs.create({ ...fields, status: 'queued' }));
  }

  findRun(owner: RunOwner, id: string): Promise<AgentRun | null> {
    return this.dataSource.getRepository(AgentRun).findOneBy({ id, ...owner });
  }

  /** Newest first. */
  async listRuns(owner: RunOwner, page: RunPage): Promise<AgentRun[]> {
    const query = this.dataSource
      .createQueryBuilder(AgentRun, 'r')
      .where('r.workspaceId = :workspaceId AND r.userId = :userId', owner)
      .orderBy('r.createdAt', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(page.limit);
    if (page.before) {
      query.andWhere(
        '(r.createdAt, r.id) < (SELECT p.created_at, p.id FROM agent_runs p WHERE p.id = :before AND p.workspace_id = :workspaceId AND p.user_id = :userId)',
        { before: page.before },
      );
    }
    return query.getMany();
  }

  /** For workers, which act on the ids of their own jobs. */
  runById(id: string): Promise<AgentRun | null> {
    return this.dataSource.getRepository(AgentRun).findOneBy({ id });
  }

  taskById(id: string): Promise<AgentTask | null> {
    return this.dataSource.getRepository(AgentTask).findOneBy({ id });
  }

  tasksOf(runId: string): Promise<AgentTask[]> {
    return this.dataSource.getRepository(AgentTask).find({ where: { runId }, order: { position: 'ASC' } });
  }

  stepsOfRun(runId: string): Promise<AgentStep[]> {
    return this.dataSource.getRepository(AgentStep).find({ where: { runId }, order: { taskId: 'ASC', sequence: 'ASC' } });
  }

  stepsOfTask(taskId: string): Promise<AgentStep[]> {
    return this.dataSource.getRepository(AgentStep).find({ where: { taskId }, order: { sequence: 'ASC' } });
  }

  artifactsOf(runId: string): Promise<AgentArtifact[]> {
    return this.dataSource.getRepository(AgentArtifact).find({ where: { runId }, order: { createdAt: 'ASC' } });
  }

  /** With its bytes; null unless it belongs to the owner's run. */
  async artifact(owner: RunOwner, runId: string, artifactId: string): Promise<AgentArtifact | null> {
    return this.dataSource
      .createQueryBuilder(AgentArtifact, 'a')
      .addSelect('a.bytes')
      .innerJoin(AgentRun, 'r', 'r.id = a.runId AND r.workspaceId = :workspaceId AND r.userId = :userId', owner)
      .where('a.id = :artifactId AND a.runId = :runId', { artifactId, runId })
      .getOne();
  }

  /**
   * Admits a queued run if its workspace has a free slot (and no run waits ahead of it);
   * otherwise marks it waiting for one. Admissions of one workspace are serialised by an
   * advisory lock, so two runs never both take the last slot, and a run marked waiting is
   * always seen by the next `nextWaiting`.
   */
  async admit(run: AgentRun, maxActive: number): Promise<{ outcome: 'waiting' | 'gone' } | { outcome: 'admitted'; run: AgentRun }> {
    return this.dataSource.transaction(async (manager) => {
      await lockWorkspace(manager, run.workspaceId);
      const [admitted] = await manager.query<[{ startedAt: Date; deadlineAt: Date }[], number]>(
        `UPDATE agent_runs SET status = 'planning', waiting_for_slot = false, started_at = now(), updated_at = now(),
                deadline_at = now() + ((limits->>'timeoutMs')::int * interval '1 millisecond')
          WHERE id = $1 AND status = 'queued'
            AND (SELECT count(*) FROM agent_runs a WHERE a.workspace_id = $2 AND a.status = ANY($3)) < $4
            AND NOT EXISTS (SELECT 1 FROM agent_runs w WHERE w.workspace_id = $2 AND w.status = 'queued' AND w.waiting_for_slot
                              AND w.id <> $1 AND (w.priority > $5 OR (w.priority = $5 AND w.created_at < $6)))
          RETURNING started_at AS "startedAt", deadline_at AS "deadlineAt"`,
        [run.id, run.workspaceId, ACTIVE, maxActive, run.priority, run.createdAt],
      );
      if (admitted.length > 0) return { outcome: 'admitted', run: { ...run, status: 'planning', waitingForSlot: false, ...admitted[0] } };
      const [waiting] = await manager.query<[unknown[], number]>(
        `UPDATE agent_runs SET waiting_for_slot = true WHERE id = $1 AND status = 'queued' RETURNING id`,
        [run.id],
      );
      return { outcome: waiting.length > 0 ? 'waiting' : 'gone' };
    });
  }

  /**
   * Picks the workspace's next waiting run (highest priority, then oldest) when a slot is free
   * and gives it a new admission number for its next start job; null when none should start.
   */
  async nextWaiting(workspaceId: string, maxActive: number): Promise<{ run: AgentRun; admission: number } | null> {
    return this.dataSource.transaction(async (manager) => {
      await lockWorkspace(manager, workspaceId);
      const rows = await manager.query<[{ id: string; admissions: number }[], number]>(
        `UPDATE agent_runs SET waiting_for_slot = false, admissions = admissions + 1
          WHERE id = (SELECT id FROM agent_runs
                       WHERE workspace_id = $1 AND status = 'queued' AND waiting_for_slot
                         AND (SELECT count(*) FROM agent_runs a WHERE a.workspace_id = $1 AND a.status = ANY($2)) < $3
                       ORDER BY priority DESC, created_at ASC LIMIT 1)
          RETURNING id, admissions`,
        [workspaceId, ACTIVE, maxActive],
      );
      const row = rows[0][0];
      if (!row) return null;
      const run = await manager.getRepository(AgentRun).findOneByOrFail({ id: row.id });
      return { run, admission: row.admissions };
    });
  }

  /** Workspaces with runs waiting for a slot, for the sweeper. */
  async workspacesWithWaitingRuns(): Promise<string[]> {
    const rows = await this.dataSource.query<{ workspaceId: string }[]>(
      `SELECT DISTINCT workspace_id AS "workspaceId" FROM agent_runs WHERE status = 'queued' AND waiting_for_slot`,
    );
    return rows.map((row) => row.workspaceId);
  }

  /** The planner's task, made once (its steps survive a retried start job). */
  async ensureTask(runId: string, task: NewTask): Promise<AgentTask> {
    const [row] = await this.dataSource.query<{ task: Record<string, unknown> }[]>(
      `INSERT INTO agent_run_tasks (run_id, key, kind, position, agent, agent_spec, instruction, depends_on, final, status, started_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, 'running', now())
       ON CONFLICT (run_id, key) DO UPDATE SET updated_at = agent_run_tasks.updated_at
       RETURNING to_jsonb(agent_run_tasks.*) AS task`,
      [runId, task.key, task.kind, task.position, task.agent, JSON.stringify(task.agentSpec), task.instruction, task.dependsOn, task.final],
    );
    return hydrate(this.dataSource, AgentTask, row.task);
  }

  /**
   * Stores the plan's tasks (those without dependencies already queued) and moves the run to
   * `running`, in one statement that first takes the run's row: a run cancelled meanwhile gets
   * no tasks, and a start job retried after a crash adds none twice. Null when the run ended.
   */
  async createTasks(runId: string, plan: RunPlan, complexity: AgentRun['complexity'], tasks: NewTask[]): Promise<AgentTask[] | null> {
    const input = tasks.map((task) => ({
      key: task.key,
      kind: task.kind,
      position: task.position,
      agent: task.agent,
      agent_spec: task.agentSpec,
      instruction: task.instruction,
      depends_on: task.dependsOn,
      final: task.final,
    }));
    const [row] = await this.dataSource.query<{ active: number }[]>(
      `WITH run AS (
         UPDATE agent_runs SET status = 'running', plan = $2::jsonb, resolved_mode = $3, complexity = $4::jsonb, updated_at = now()
          WHERE id = $1 AND status = ANY($6) RETURNING id
       ), added AS (
         INSERT INTO agent_run_tasks (run_id, key, kind, position, agent, agent_spec, instruction, depends_on, pending_dependencies, final, status)
         SELECT run.id, x.key, x.kind, x.position, x.agent, x.agent_spec, x.instruction,
                ARRAY(SELECT jsonb_array_elements_text(x.depends_on)), jsonb_array_length(x.depends_on), x.final,
                CASE WHEN jsonb_array_length(x.depends_on) = 0 THEN 'queued' ELSE 'pending' END
           FROM run, jsonb_to_recordset($5::jsonb) AS x(key text, kind text, position int, agent text, agent_spec jsonb,
                                                      instruction text, depends_on jsonb, final boolean)
         ON CONFLICT (run_id, key) DO NOTHING
         RETURNING id
       )
       SELECT (SELECT count(*) FROM run)::int AS active`,
      [runId, JSON.stringify(plan), plan.mode, JSON.stringify(complexity), JSON.stringify(input), ACTIVE],
    );
    return row.active > 0 ? this.tasksOf(runId) : null;
  }

  /** Tasks whose dependencies are all completed, moved from pending to queued; queued ones too (their job may be lost). */
  async readyTasks(runId: string): Promise<AgentTask[]> {
    return this.dataSource.transaction(async (manager) => {
      const run = await lockRun(manager, runId);
      if (!run || !ACTIVE.includes(run.status)) return [];
      return markReady(manager, runId);
    });
  }

  /**
   * queued/pending -> running, with the task, its run, its stored steps and the tasks it
   * depends on, in one statement; a task with no steps yet also gets its first (model) step
   * reserved, with the starter's access. Null when the task is not open any more or its run
   * has ended (or either is gone).
   */
  async claimTask(taskId: string): Promise<{
    task: AgentTask;
    run: AgentRun;
    firstStart: boolean;
    steps: AgentStep[];
    dependencies: AgentTask[];
    reservation: Reservation | null;
  } | null> {
    const rows = await this.dataSource.query<
      {
        task: Record<string, unknown>;
        run: Record<string, unknown>;
        firstStart: boolean;
        steps: Record<string, unknown>[];
        dependencies: Record<string, unknown>[];
        reserved: number;
        used: number | null;
        starter: StarterRow | null;
      }[]
    >(
      `WITH open AS (
         SELECT t.id, t.run_id FROM agent_run_tasks t JOIN agent_runs r ON r.id = t.run_id
          WHERE t.id = $1 AND r.status = ANY($2) AND t.status IN ('pending', 'queued', 'running')
       ), fresh AS (
         SELECT 1 FROM open WHERE NOT EXISTS (SELECT 1 FROM agent_run_steps s WHERE s.task_id = $1)
       ), reserved AS (
         UPDATE agent_runs SET step_count = step_count + 1, updated_at = now()
          WHERE id = (SELECT run_id FROM open) AND EXISTS (SELECT 1 FROM fresh) AND status = ANY($2)
            AND step_count < (limits->>'maxSteps')::int
          RETURNING prompt_tokens + completion_tokens AS used
       ), c AS (
         UPDATE agent_run_tasks t SET status = 'running', started_at = COALESCE(t.started_at, now()), updated_at = now(),
                step_count = t.step_count + (SELECT count(*) FROM reserved)
           FROM agent_runs r
          WHERE t.id = $1 AND r.id = t.run_id AND r.status = ANY($2) AND t.status IN ('pending', 'queued', 'running')
          RETURNING to_jsonb(t.*) AS task, to_jsonb(r.*) AS run, (t.started_at = now()) AS first_start, t.run_id, t.depends_on,
                    r.user_id, r.workspace_id, r.api_key_id
       )
       SELECT c.task, c.run, c.first_start AS "firstStart",
              COALESCE((SELECT jsonb_agg(to_jsonb(s.*) ORDER BY s.sequence) FROM agent_run_steps s WHERE s.task_id = $1), '[]'::jsonb) AS steps,
              COALESCE((SELECT jsonb_agg(to_jsonb(d.*) ORDER BY d.position) FROM agent_run_tasks d
                         WHERE d.run_id = c.run_id AND d.key = ANY(c.depends_on)), '[]'::jsonb) AS dependencies,
              (SELECT count(*) FROM reserved)::int AS reserved, (SELECT used FROM reserved)::int AS used,
              (SELECT to_jsonb(x) FROM (${starterQuery('c.user_id', 'c.workspace_id', 'c.api_key_id')}) x) AS starter
         FROM c`,
      [taskId, ACTIVE],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      task: hydrate(this.dataSource, AgentTask, row.task),
      run: hydrate(this.dataSource, AgentRun, row.run),
      firstStart: row.firstStart,
      steps: row.steps.map((step) => hydrate(this.dataSource, AgentStep, step)),
      dependencies: row.dependencies.map((task) => hydrate(this.dataSource, AgentTask, task)),
      reservation: row.reserved > 0 ? { kind: 'model', usedTokens: row.used ?? 0, starter: row.starter } : null,
    };
  }

  /**
   * Takes one step (and one tool call, for a tool step) from the run's and the task's limits
   * before the step starts, and reads the starter's access for it, in one statement; refused
   * when a limit is reached or the run is no longer active. The first model step also fixes
   * the task's tool mode.
   */
  async reserveStep(
    run: Pick<AgentRun, 'id' | 'userId' | 'workspaceId' | 'apiKeyId'>,
    taskId: string,
    toolCall: boolean,
    toolMode: ToolMode | null = null,
  ): Promise<{ refused: ReserveRefusal } | { usedTokens: number; starter: StarterRow | null }> {
    const tool = toolCall ? 1 : 0;
    const rows = await this.dataSource.query<{ run: number; task: number; used: number | null; starter: StarterRow | null }[]>(
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
      [run.id, taskId, tool, ACTIVE, run.userId, run.workspaceId, run.apiKeyId, toolMode],
    );
    const { run: reservedRun, task, used, starter } = rows[0];
    if (reservedRun > 0 && task > 0) return { usedTokens: used ?? 0, starter };
    return { refused: await this.refusalOf(run.id, taskId, reservedRun) };
  }

  /** Gives back a reserved step whose call failed before anything was stored (it will be tried again). */
  async releaseStep(runId: string, taskId: string, toolCall: boolean): Promise<void> {
    const tool = toolCall ? 1 : 0;
    await this.dataSource.query(
      `WITH r AS (
         UPDATE agent_runs SET step_count = GREATEST(step_count - 1, 0), tool_call_count = GREATEST(tool_call_count - $3, 0) WHERE id = $1
       )
       UPDATE agent_run_tasks SET step_count = GREATEST(step_count - 1, 0), tool_call_count = GREATEST(tool_call_count - $3, 0) WHERE id = $2`,
      [runId, taskId, tool],
    );
  }

  /**
   * Commits a step, and the tokens it used, in one statement before the next step starts;
   * with `reserveNext`, the same statement takes the next step from the limits (see
   * `reserveStep`), and with `complete`, it completes the task (and the run, for its final
   * task): one round trip per step on the hot path. A step with artifacts also stores them,
   * in one transaction. Throws on a sequence already taken: another execution of the task
   * got there first.
   */
  async commitStep(
    step: NewStep,
    options: {
      run: Pick<AgentRun, 'id' | 'userId' | 'workspaceId' | 'apiKeyId'>;
      artifacts?: NewArtifact[];
      reserveNext?: 'model' | 'tool' | null;
      complete?: { result: string; final: boolean; key: string };
      /** Stored on the task if it has none yet (its first steps). */
      toolMode?: ToolMode | null;
    },
  ): Promise<{
    step: AgentStep;
    artifacts: AgentArtifact[];
    reservation: Reservation | { refused: ReserveRefusal } | null;
    completion: TaskCompletion | null;
  }> {
    const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
    const values = [
      step.runId,
      step.taskId,
      step.sequence,
      step.type,
      step.status,
      step.model,
      json(step.routing),
      step.content,
      json(step.toolCalls),
      step.finishReason,
      step.promptTokens ?? 0,
      step.completionTokens ?? 0,
      step.toolName,
      step.toolCallId,
      json(step.arguments),
      step.result,
      json(step.data),
      step.errorCode,
      step.errorMessage,
      step.startedAt,
      step.durationMs,
    ];
    const insert = `s AS (
         INSERT INTO agent_run_steps (run_id, task_id, sequence, type, status, model, routing, content, tool_calls, finish_reason,
                                      prompt_tokens, completion_tokens, tool_name, tool_call_id, arguments, result, data,
                                      error_code, error_message, started_at, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, NULLIF($11, 0), NULLIF($12, 0), $13, $14, $15::jsonb, $16,
                 $17::jsonb, $18, $19, $20, $21)
         RETURNING *
       )`;
    let statement: string;
    let parameters: unknown[];
    if (options.reserveNext) {
      // The tokens ride on the reservation's update of the run row (one row, one update).
      statement = `WITH ${insert}, r AS (
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
         FROM s`;
      const run = options.run;
      parameters = [
        ...values,
        options.reserveNext === 'tool' ? 1 : 0,
        ACTIVE,
        run.userId,
        run.workspaceId,
        run.apiKeyId,
        options.toolMode ?? null,
      ];
    } else if (options.complete) {
      statement = `WITH ${insert}, t AS (
         UPDATE agent_run_tasks SET status = 'completed', result = $22, finished_at = now(), updated_at = now(),
                tool_mode = COALESCE(tool_mode, $25)
          WHERE id = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM agent_runs WHERE id = $1 AND status = ANY($23))
          RETURNING id
       ), ${DEPENDENTS_CTE('$1', '$26')}, r AS (
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
         FROM s`;
      parameters = [...values, options.complete.result, ACTIVE, options.complete.final, options.toolMode ?? null, options.complete.key];
    } else {
      statement = `WITH ${insert}, r AS (
         UPDATE agent_runs SET prompt_tokens = prompt_tokens + $11, completion_tokens = completion_tokens + $12, updated_at = now() WHERE id = $1
       )
       SELECT to_jsonb(s.*) AS step FROM s`;
      parameters = values;
    }
    type Row = {
      step: Record<string, unknown>;
      run?: number;
      task?: number;
      used?: number | null;
      starter?: StarterRow | null;
      completed?: number;
      finishedRun?: Record<string, unknown> | null;
      othersWaiting?: boolean;
      ready?: Record<string, unknown>[];
    };
    const write = async (manager: EntityManager) => {
      const [row] = await manager.query<Row[]>(statement, parameters);
      const saved = hydrate(this.dataSource, AgentStep, row.step);
      const stored: AgentArtifact[] = [];
      for (const artifact of options.artifacts ?? []) {
        const repository = manager.getRepository(AgentArtifact);
        stored.push(
          await repository.save(
            repository.create({
              runId: step.runId,
              stepId: saved.id,
              name: artifact.name,
              mediaType: artifact.mediaType,
              bytes: artifact.bytes,
              sizeBytes: artifact.bytes.length,
            }),
          ),
        );
      }
      return { row, saved, stored };
    };
    const { row, saved, stored } = options.artifacts?.length
      ? await this.dataSource.transaction(write)
      : await write(this.dataSource.manager);
    let reservation: Reservation | { refused: ReserveRefusal } | null = null;
    if (options.reserveNext) {
      if (row.run && row.task) {
        reservation = { kind: options.reserveNext, usedTokens: row.used ?? 0, starter: row.starter ?? null };
      } else {
        // Refused: the tokens were not added with the reservation, so they are added on their own.
        await this.dataSource.query(
          `UPDATE agent_runs SET prompt_tokens = prompt_tokens + $2, completion_tokens = completion_tokens + $3 WHERE id = $1`,
          [step.runId, step.promptTokens ?? 0, step.completionTokens ?? 0],
        );
        reservation = { refused: await this.refusalOf(step.runId, step.taskId, row.run ?? 0) };
      }
    }
    const completion = options.complete
      ? {
          changed: (row.completed ?? 0) > 0,
          run: row.finishedRun ? hydrate(this.dataSource, AgentRun, row.finishedRun) : null,
          othersWaiting: row.othersWaiting ?? true,
          ready: (row.ready ?? []).map((task) => hydrate(this.dataSource, AgentTask, task)),
        }
      : null;
    return { step: saved, artifacts: stored, reservation, completion };
  }

  /** Why a reservation was refused (after the fact, on the rare path). */
  private async refusalOf(runId: string, taskId: string, runReserved: number): Promise<ReserveRefusal> {
    if (runReserved > 0) {
      const current = await this.dataSource.getRepository(AgentTask).findOneByOrFail({ id: taskId });
      return current.stepCount >= current.agentSpec.maxSteps ? 'task-steps' : 'task-tool-calls';
    }
    const current = await this.runById(runId);
    if (!current || !ACTIVE.includes(current.status)) return 'not-active';
    return current.stepCount >= current.limits.maxSteps ? 'run-steps' : 'run-tool-calls';
  }

  /**
   * Completes a running task, the run too when it is the final task, and queues the tasks this
   * completion made ready, in one statement (the hot path does the same with the answer's
   * step, in `commitStep`).
   */
  async completeTask(task: Pick<AgentTask, 'id' | 'runId' | 'final' | 'key'>, result: string): Promise<TaskCompletion> {
    const [row] = await this.dataSource.query<
      { changed: number; run: Record<string, unknown> | null; othersWaiting: boolean; ready: Record<string, unknown>[] }[]
    >(
      `WITH t AS (
         UPDATE agent_run_tasks SET status = 'completed', result = $2, finished_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'running' AND EXISTS (SELECT 1 FROM agent_runs WHERE id = $3 AND status = ANY($4))
          RETURNING id
       ), ${DEPENDENTS_CTE('$3', '$6')}, r AS (
         UPDATE agent_runs SET status = 'completed', result = $2, finished_at = now(), updated_at = now()
          WHERE id = $3 AND $5 AND status = ANY($4) AND EXISTS (SELECT 1 FROM t)
          RETURNING *
       )
       SELECT (SELECT count(*) FROM t)::int AS changed, (SELECT to_jsonb(r.*) FROM r) AS run,
              EXISTS (SELECT 1 FROM agent_runs w, r WHERE w.workspace_id = r.workspace_id AND w.status = 'queued' AND w.waiting_for_slot)
                AS "othersWaiting",
              COALESCE((SELECT jsonb_agg(d.task) FROM d WHERE d.ready), '[]'::jsonb) AS ready`,
      [task.id, result, task.runId, ACTIVE, task.final, task.key],
    );
    return {
      changed: row.changed > 0,
      run: row.run ? hydrate(this.dataSource, AgentRun, row.run) : null,
      othersWaiting: row.othersWaiting,
      ready: row.ready.map((ready) => hydrate(this.dataSource, AgentTask, ready)),
    };
  }

  /**
   * Ends a run that is not over yet: its open tasks are failed (the one that caused it) or
   * cancelled. Returns the ended run, or null when it had already ended.
   */
  async finishRun(runId: string, status: 'failed' | 'cancelled', error: RunError, failedTaskId?: string): Promise<AgentRun | null> {
    return this.dataSource.transaction(async (manager) => {
      const run = await lockRun(manager, runId);
      if (!run || TERMINAL.includes(run.status)) return null;
      if (failedTaskId) {
        await manager.query(
          `UPDATE agent_run_tasks SET status = 'failed', error_code = $2, error_message = $3, finished_at = now(), updated_at = now()
            WHERE id = $1 AND status = ANY($4)`,
          [failedTaskId, error.code, error.message, OPEN_TASK],
        );
      }
      await manager.query(
        `UPDATE agent_run_tasks SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE run_id = $1 AND status = ANY($2)`,
        [runId, OPEN_TASK],
      );
      await manager.query(
        `UPDATE agent_runs SET status = $2, error_code = $3, error_message = $4, waiting_for_slot = false, finished_at = now(), updated_at = now()
          WHERE id = $1`,
        [runId, status, error.code, error.message],
      );
      return manager.getRepository(AgentRun).findOneByOrFail({ id: runId });
    });
  }

  /** Runs that should have moved by now: not over, and untouched since `before`. */
  staleRuns(before: Date, limit = 100): Promise<AgentRun[]> {
    return this.dataSource
      .createQueryBuilder(AgentRun, 'r')
      .where('r.status IN (:...statuses) AND r.updatedAt < :before AND NOT r.waitingForSlot', {
        statuses: ['queued', ...ACTIVE],
        before,
      })
      .orderBy('r.updatedAt', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Active runs past their deadline (their worker may have died before it could time them out). */
  overdueRuns(now: Date, limit = 100): Promise<AgentRun[]> {
    return this.dataSource
      .createQueryBuilder(AgentRun, 'r')
      .where('r.status IN (:...statuses) AND r.deadlineAt < :now', { statuses: ACTIVE, now })
      .limit(limit)
      .getMany();
  }

  /** Unfinished runs, for re-queueing at boot (an in-memory queue lost their jobs). */
  unfinishedRuns(limit = 1000): Promise<AgentRun[]> {
    return this.dataSource
      .createQueryBuilder(AgentRun, 'r')
      .where('r.status IN (:...statuses)', { statuses: ['queued', ...ACTIVE] })
      .orderBy('r.priority', 'DESC')
      .addOrderBy('r.createdAt', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Counts a recovery; false once the run has used its allowance. */
  async recordRecovery(runId: string, taskId: string | null, maxRecoveries: number): Promise<number | null> {
    const rows = await this.dataSource.query<[{ recoveries: number }[], number]>(
      `UPDATE agent_runs SET recoveries = recoveries + 1, updated_at = now() WHERE id = $1 AND recoveries < $2 RETURNING recoveries`,
      [runId, maxRecoveries],
    );
    const row = rows[0][0];
    if (!row) return null;
    if (taskId) await this.dataSource.query(`UPDATE agent_run_tasks SET recoveries = recoveries + 1 WHERE id = $1`, [taskId]);
    return row.recoveries;
  }
}

/**
 * The CTE `d` that takes one pending dependency off every task depending on the task just
 * completed by the CTE `t` (whose key is `key`), and queues those left with none. Row locks
 * order concurrent completions, so exactly one of them sees a dependent's count reach zero.
 */
const DEPENDENTS_CTE = (runId: string, key: string) => `d AS (
         UPDATE agent_run_tasks SET pending_dependencies = pending_dependencies - 1, updated_at = now(),
                status = CASE WHEN pending_dependencies = 1 AND status = 'pending' THEN 'queued' ELSE status END
          WHERE run_id = ${runId} AND ${key} = ANY(depends_on) AND EXISTS (SELECT 1 FROM t)
          RETURNING to_jsonb(agent_run_tasks.*) AS task, (pending_dependencies = 0 AND status = 'queued') AS ready
       )`;

async function lockRun(manager: EntityManager, runId: string): Promise<AgentRun | null> {
  return manager.getRepository(AgentRun).createQueryBuilder('r').setLock('pessimistic_write').where('r.id = :runId', { runId }).getOne();
}

async function lockWorkspace(manager: EntityManager, workspaceId: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtext('agent-runs:' || $1))`, [workspaceId]);
}

async function markReady(manager: EntityManager, runId: string): Promise<AgentTask[]> {
  const tasks = await manager.getRepository(AgentTask).find({ where: { runId }, order: { position: 'ASC' } });
  const completed = new Set(tasks.filter((task) => task.status === 'completed').map((task) => task.key));
  const ready = tasks.filter(
    (task) => (task.status === 'pending' || task.status === 'queued') && task.dependsOn.every((key) => completed.has(key)),
  );
  const pending = ready.filter((task) => task.status === 'pending').map((task) => task.id);
  if (pending.length > 0) {
    await manager.getRepository(AgentTask).update({ id: In(pending) }, { status: 'queued' });
    for (const task of ready) task.status = 'queued';
  }
  return ready;
}
