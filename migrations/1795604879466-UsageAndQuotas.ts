import { MigrationInterface, QueryRunner } from 'typeorm';

export class UsageAndQuotas1795604879466 implements MigrationInterface {
  name = 'UsageAndQuotas1795604879466';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "token_quotas" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "scope" character varying(16) NOT NULL, "subject_id" uuid NOT NULL, "period" character varying(8) NOT NULL, "limit_tokens" bigint NOT NULL, "workspace_id" uuid, "user_id" uuid, "api_key_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "chk_token_quotas_subject" CHECK ((scope = \'workspace\' AND workspace_id = subject_id AND user_id IS NULL AND api_key_id IS NULL) OR (scope = \'user\' AND user_id = subject_id AND workspace_id IS NULL AND api_key_id IS NULL) OR (scope = \'api-key\' AND api_key_id = subject_id AND workspace_id IS NULL AND user_id IS NULL)), CONSTRAINT "PK_eacb42d10429ce3b0ec816a0ac9" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_token_quotas_subject_period" ON "token_quotas"  ("scope", "subject_id", "period") ');
    await queryRunner.query(
      'CREATE TABLE "usage_records" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "workspace_id" uuid NOT NULL, "user_id" uuid NOT NULL, "api_key_id" uuid, "kind" character varying(16) NOT NULL, "requested_model" character varying(128) NOT NULL, "model" character varying(128), "provider" character varying(32), "node_id" character varying(255), "prompt_tokens" integer NOT NULL, "completion_tokens" integer NOT NULL, "time_to_first_token_ms" integer, "duration_ms" integer NOT NULL, "outcome" character varying(16) NOT NULL, "cached" boolean NOT NULL DEFAULT false, "error_code" character varying(64), CONSTRAINT "PK_e511cf9f7dc53851569f87467a5" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE INDEX "idx_usage_records_workspace_user_created" ON "usage_records"  ("workspace_id", "user_id", "created_at") ',
    );
    await queryRunner.query('CREATE INDEX "idx_usage_records_workspace_created" ON "usage_records"  ("workspace_id", "created_at") ');
    await queryRunner.query(
      'ALTER TABLE "token_quotas" ADD CONSTRAINT "FK_510420a982cc18d146cbdbaa47b" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "token_quotas" ADD CONSTRAINT "FK_c7072fb65ca97386e514afcb1ca" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "token_quotas" ADD CONSTRAINT "FK_f8289befafc191487ce37a422a4" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "usage_records" ADD CONSTRAINT "FK_0228937687c535d9cd0405c13a1" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "usage_records" ADD CONSTRAINT "FK_2930a10f82d7773e3ac09e78dd8" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "usage_records" ADD CONSTRAINT "FK_25f881c575d75b946cd89c30665" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "usage_records" DROP CONSTRAINT "FK_25f881c575d75b946cd89c30665"');
    await queryRunner.query('ALTER TABLE "usage_records" DROP CONSTRAINT "FK_2930a10f82d7773e3ac09e78dd8"');
    await queryRunner.query('ALTER TABLE "usage_records" DROP CONSTRAINT "FK_0228937687c535d9cd0405c13a1"');
    await queryRunner.query('ALTER TABLE "token_quotas" DROP CONSTRAINT "FK_f8289befafc191487ce37a422a4"');
    await queryRunner.query('ALTER TABLE "token_quotas" DROP CONSTRAINT "FK_c7072fb65ca97386e514afcb1ca"');
    await queryRunner.query('ALTER TABLE "token_quotas" DROP CONSTRAINT "FK_510420a982cc18d146cbdbaa47b"');
    await queryRunner.query('DROP INDEX "public"."idx_usage_records_workspace_created"');
    await queryRunner.query('DROP INDEX "public"."idx_usage_records_workspace_user_created"');
    await queryRunner.query('DROP TABLE "usage_records"');
    await queryRunner.query('DROP INDEX "public"."uq_token_quotas_subject_period"');
    await queryRunner.query('DROP TABLE "token_quotas"');
  }
}
