import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AgentArtifact } from 'src/modules/agents/runs/agent-artifact.entity';
import { ACTIVE_RUN_STATUSES, AgentRun, RunPlan, RunStatus, TERMINAL_RUN_STATUSES } from 'src/modules/agents/runs/agent-run.entity';
import { AgentStep } from 'src/modules/agents/runs/agent-step.entity';
import { AgentTask, TaskStatus, ToolMode } from 'src/modules/agents/runs/agent-task.entity';
import { AppConfig } from 'src/config/app-config';
import { hydrate } from 'src/modules/agents/runs/row-mapper';
import { StarterRow } from 'src/modules/agents/runs/run-access.repository';
import {
  admitRunStatements,
  CLAIM_TASK,
  COMMIT_STEP,
  COMMIT_STEP_AND_COMPLETE,
  COMMIT_STEP_AND_RESERVE,
  COMPLETE_TASK,
  CREATE_TASKS,
  ENSURE_TASK,
  RESERVE_STEP,
  RunStatement,
} from 'src/modules/agents/runs/run-statements';

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

/** What a start job finds: the run admitted by it, admitted before (a retried job), waiting for a slot, or ended. */
export type Admission =
  | { outcome: 'admitted'; run: AgentRun }
  | { outcome: 'started'; run: AgentRun }
  | { outcome: 'waiting'; run?: undefined }
  | { outcome: 'gone'; run?: undefined };

/** Why a step could not be reserved. */
export type ReserveRefusal = 'not-active' | 'run-steps' | 'run-tool-calls' | 'task-steps' | 'task-tool-calls';

const TERMINAL = TERMINAL_RUN_STATUSES as RunStatus[];
const ACTIVE = ACTIVE_RUN_STATUSES as RunStatus[];
const OPEN_TASK: TaskStatus[] = ['pending', 'queued', 'running'];

/** Runs, their tasks, steps and artifacts: the only code that queries them. */
@Injectable()
export class RunsRepository {
  /**
   * Named prepared statements on PostgreSQL only: the embedded PGlite serves every pool
   * connection from one session, where a name one connection prepared clashes with the next
   * connection preparing it.
   */
  private readonly prepared: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.prepared = !config.isEmbeddedDatabase;
  }

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
   * The run a start job acts on, admitted now if it is queued and its workspace has a free
   * slot (and no run waits ahead of it), otherwise marked waiting for one. Admissions of one
   * workspace are serialised by an advisory lock, so two runs never both take the last slot,
   * and a run marked waiting is always seen by the next `nextWaiting`.
   */
  async admit(runId: string, maxActive: number): Promise<Admission> {
    const [, admitted, waiting, current] = await this.simpleQuery<
      [unknown, { run: Record<string, unknown> }, unknown, { run: Record<string, unknown> }]
    >(admitRunStatements(runId, ACTIVE, maxActive));
    if (admitted.length > 0) return { outcome: 'admitted', run: hydrate(this.dataSource, AgentRun, admitted[0].run) };
    if (waiting.length > 0) return { outcome: 'waiting' };
    const run = current[0] ? hydrate(this.dataSource, AgentRun, current[0].run) : null;
    return run && !TERMINAL.includes(run.status) ? { outcome: 'started', run } : { outcome: 'gone' };
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

  /** The planner's task, made once, with the steps it has (they survive a retried start job). */
  async ensureTask(runId: string, task: NewTask): Promise<{ task: AgentTask; steps: AgentStep[] }> {
    const [row] = await this.execute<{ task: Record<string, unknown>; steps: Record<string, unknown>[] }[]>(ENSURE_TASK, [
      runId,
      task.key,
      task.kind,
      task.position,
      task.agent,
      JSON.stringify(task.agentSpec),
      task.instruction,
      task.dependsOn,
      task.final,
    ]);
    return {
      task: hydrate(this.dataSource, AgentTask, row.task),
      steps: row.steps.map((step) => hydrate(this.dataSource, AgentStep, step)),
    };
  }

  /**
   * Stores the plan's tasks (those without dependencies already queued, with their first step
   * reserved when the run's limits allow) and moves the run to `running`, in one statement
   * that first takes the run's row: a run cancelled meanwhile gets no tasks, and a start job
   * retried after a crash adds none twice. Returns the plan's tasks (not the planner's own),
   * or null when the run ended.
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
    const [row] = await this.execute<{ active: number; added: Record<string, unknown>[] }[]>(CREATE_TASKS, [
      runId,
      JSON.stringify(plan),
      plan.mode,
      JSON.stringify(complexity),
      JSON.stringify(input),
      ACTIVE,
      tasks.filter((task) => task.dependsOn.length === 0).length,
    ]);
    if (row.active === 0) return null;
    // Fewer added than planned: another execution of the start job stored them first.
    if (row.added.length < tasks.length) return (await this.tasksOf(runId)).filter((task) => task.kind !== 'plan');
    return row.added.map((task) => hydrate(this.dataSource, AgentTask, task));
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
   * depends on, in one statement; a task with no steps yet has its first (model) step
   * reserved (now, or already when the task was made), with the starter's access. Null when
   * the task is not open any more or its run has ended (or either is gone).
   */
  async claimTask(taskId: string): Promise<{
    task: AgentTask;
    run: AgentRun;
    firstStart: boolean;
    steps: AgentStep[];
    dependencies: AgentTask[];
    reservation: Reservation | null;
  } | null> {
    const rows = await this.execute<
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
    >(CLAIM_TASK, [taskId, ACTIVE]);
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
    const rows = await this.execute<{ run: number; task: number; used: number | null; starter: StarterRow | null }[]>(RESERVE_STEP, [
      run.id,
      taskId,
      tool,
      ACTIVE,
      run.userId,
      run.workspaceId,
      run.apiKeyId,
      toolMode,
    ]);
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
    let statement: RunStatement;
    let parameters: unknown[];
    if (options.reserveNext) {
      statement = COMMIT_STEP_AND_RESERVE;
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
      statement = COMMIT_STEP_AND_COMPLETE;
      parameters = [...values, options.complete.result, ACTIVE, options.complete.final, options.toolMode ?? null, options.complete.key];
    } else {
      statement = COMMIT_STEP;
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
      const [row] = await this.execute<Row[]>(statement, parameters, manager);
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
    const [row] = await this.execute<
      { changed: number; run: Record<string, unknown> | null; othersWaiting: boolean; ready: Record<string, unknown>[] }[]
    >(COMPLETE_TASK, [task.id, result, task.runId, ACTIVE, task.final, task.key]);
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

  /** Runs a hot-path statement, prepared where the database allows (pg takes `{ name, text }` wherever it takes SQL). */
  private execute<T>(statement: RunStatement, values: unknown[], manager: EntityManager = this.dataSource.manager): Promise<T> {
    return manager.query<T>((this.prepared ? statement : statement.text) as unknown as string, values);
  }

  /**
   * Several statements in one simple-protocol query: one round trip and one implicit
   * transaction, each statement with its own snapshot. Rows of each statement, in order.
   */
  private async simpleQuery<T extends unknown[]>(sql: string): Promise<{ [K in keyof T]: T[K][] }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as { query(sql: string): Promise<{ rows: unknown[] }[]> };
      const results = await client.query(sql);
      return results.map((result) => result.rows) as { [K in keyof T]: T[K][] };
    } finally {
      await runner.release();
    }
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
