import { MigrationInterface, QueryRunner } from 'typeorm';

export class AgentWorkflows1795617388061 implements MigrationInterface {
  name = 'AgentWorkflows1795617388061';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "agent_definitions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "name" character varying(40) NOT NULL, "description" character varying(500) NOT NULL, "system_prompt" text NOT NULL, "tier" character varying(16), "model" character varying(128), "tools" text array NOT NULL DEFAULT \'{}\', "max_steps" integer, "max_tool_calls" integer, "created_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8fd934a151ca9ad58c0252979e5" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_agent_definitions_workspace_name" ON "agent_definitions"  ("workspace_id", "name") ');
    await queryRunner.query(
      'CREATE TABLE "agent_runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "user_id" uuid NOT NULL, "api_key_id" uuid, "permissions" text array NOT NULL, "query" text NOT NULL, "mode" character varying(8) NOT NULL, "resolved_mode" character varying(8), "agents" text array NOT NULL DEFAULT \'{}\', "knowledge_base_ids" uuid array NOT NULL DEFAULT \'{}\', "priority" integer NOT NULL, "limits" jsonb NOT NULL, "status" character varying(16) NOT NULL, "complexity" jsonb, "plan" jsonb, "result" text, "step_count" integer NOT NULL DEFAULT \'0\', "tool_call_count" integer NOT NULL DEFAULT \'0\', "prompt_tokens" integer NOT NULL DEFAULT \'0\', "completion_tokens" integer NOT NULL DEFAULT \'0\', "admissions" integer NOT NULL DEFAULT \'0\', "waiting_for_slot" boolean NOT NULL DEFAULT false, "recoveries" integer NOT NULL DEFAULT \'0\', "error_code" character varying(64), "error_message" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "deadline_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_442f7e0ec4ae860cf17edc57825" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_agent_runs_status" ON "agent_runs"  ("status", "workspace_id") ');
    await queryRunner.query('CREATE INDEX "idx_agent_runs_owner" ON "agent_runs"  ("workspace_id", "user_id", "created_at") ');
    await queryRunner.query(
      'CREATE TABLE "agent_run_tasks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "key" character varying(40) NOT NULL, "kind" character varying(16) NOT NULL, "position" integer NOT NULL, "agent" character varying(40) NOT NULL, "agent_spec" jsonb NOT NULL, "instruction" text NOT NULL, "depends_on" text array NOT NULL DEFAULT \'{}\', "pending_dependencies" integer NOT NULL DEFAULT \'0\', "final" boolean NOT NULL DEFAULT false, "status" character varying(16) NOT NULL, "tool_mode" character varying(8), "result" text, "step_count" integer NOT NULL DEFAULT \'0\', "tool_call_count" integer NOT NULL DEFAULT \'0\', "recoveries" integer NOT NULL DEFAULT \'0\', "error_code" character varying(64), "error_message" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_9699e830e84fbc968b7b6002bba" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_agent_run_tasks_key" ON "agent_run_tasks"  ("run_id", "key") ');
    await queryRunner.query(
      'CREATE TABLE "agent_run_steps" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "task_id" uuid NOT NULL, "sequence" integer NOT NULL, "type" character varying(8) NOT NULL, "status" character varying(16) NOT NULL, "model" character varying(128), "routing" jsonb, "content" text, "tool_calls" jsonb, "finish_reason" character varying(16), "prompt_tokens" integer, "completion_tokens" integer, "tool_name" character varying(40), "tool_call_id" character varying(64), "arguments" jsonb, "result" text, "data" jsonb, "error_code" character varying(64), "error_message" text, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "duration_ms" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_cdab326bc85bebd086cc958157e" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_agent_run_steps_run" ON "agent_run_steps"  ("run_id", "created_at") ');
    await queryRunner.query('CREATE UNIQUE INDEX "uq_agent_run_steps_sequence" ON "agent_run_steps"  ("task_id", "sequence") ');
    await queryRunner.query(
      'CREATE TABLE "agent_run_artifacts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "step_id" uuid NOT NULL, "name" character varying(200) NOT NULL, "media_type" character varying(64) NOT NULL, "size_bytes" integer NOT NULL, "bytes" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e16f024fec057bd6c25023559b9" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_definitions" ADD CONSTRAINT "FK_e2ef7631cab43970b153a82a1f7" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_definitions" ADD CONSTRAINT "FK_04e44ab2cea44b922544b1c66ef" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_runs" ADD CONSTRAINT "FK_b54365ad8960707516ef4f3559c" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_runs" ADD CONSTRAINT "FK_be1bbf55a199c33e98209d12110" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_run_tasks" ADD CONSTRAINT "FK_221b691a356c7f8e97ae885bcba" FOREIGN KEY ("run_id") REFERENCES "agent_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_run_steps" ADD CONSTRAINT "FK_dfa3ce31fe8556fbc48ca63f77d" FOREIGN KEY ("run_id") REFERENCES "agent_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_run_steps" ADD CONSTRAINT "FK_e0dac560a41164e783b4783a373" FOREIGN KEY ("task_id") REFERENCES "agent_run_tasks"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_run_artifacts" ADD CONSTRAINT "FK_f403eb0592ce717bf7b4fada600" FOREIGN KEY ("run_id") REFERENCES "agent_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "agent_run_artifacts" ADD CONSTRAINT "FK_beea1c7309b47457f32f94fab05" FOREIGN KEY ("step_id") REFERENCES "agent_run_steps"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "agent_run_artifacts" DROP CONSTRAINT "FK_beea1c7309b47457f32f94fab05"');
    await queryRunner.query('ALTER TABLE "agent_run_artifacts" DROP CONSTRAINT "FK_f403eb0592ce717bf7b4fada600"');
    await queryRunner.query('ALTER TABLE "agent_run_steps" DROP CONSTRAINT "FK_e0dac560a41164e783b4783a373"');
    await queryRunner.query('ALTER TABLE "agent_run_steps" DROP CONSTRAINT "FK_dfa3ce31fe8556fbc48ca63f77d"');
    await queryRunner.query('ALTER TABLE "agent_run_tasks" DROP CONSTRAINT "FK_221b691a356c7f8e97ae885bcba"');
    await queryRunner.query('ALTER TABLE "agent_runs" DROP CONSTRAINT "FK_be1bbf55a199c33e98209d12110"');
    await queryRunner.query('ALTER TABLE "agent_runs" DROP CONSTRAINT "FK_b54365ad8960707516ef4f3559c"');
    await queryRunner.query('ALTER TABLE "agent_definitions" DROP CONSTRAINT "FK_04e44ab2cea44b922544b1c66ef"');
    await queryRunner.query('ALTER TABLE "agent_definitions" DROP CONSTRAINT "FK_e2ef7631cab43970b153a82a1f7"');
    await queryRunner.query('DROP TABLE "agent_run_artifacts"');
    await queryRunner.query('DROP INDEX "public"."uq_agent_run_steps_sequence"');
    await queryRunner.query('DROP INDEX "public"."idx_agent_run_steps_run"');
    await queryRunner.query('DROP TABLE "agent_run_steps"');
    await queryRunner.query('DROP INDEX "public"."uq_agent_run_tasks_key"');
    await queryRunner.query('DROP TABLE "agent_run_tasks"');
    await queryRunner.query('DROP INDEX "public"."idx_agent_runs_owner"');
    await queryRunner.query('DROP INDEX "public"."idx_agent_runs_status"');
    await queryRunner.query('DROP TABLE "agent_runs"');
    await queryRunner.query('DROP INDEX "public"."uq_agent_definitions_workspace_name"');
    await queryRunner.query('DROP TABLE "agent_definitions"');
  }
}
