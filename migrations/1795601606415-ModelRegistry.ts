import { MigrationInterface, QueryRunner } from 'typeorm';

export class ModelRegistry1795601606415 implements MigrationInterface {
  name = 'ModelRegistry1795601606415';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "llm_upstreams" ("id" uuid NOT NULL, "name" character varying(64) NOT NULL, "kind" character varying(32) NOT NULL, "base_url" character varying(2048) NOT NULL, "api_key_encrypted" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ada6fc439b04b1174b4ea17a2a0" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_llm_upstreams_name" ON "llm_upstreams"  ("name") ');
    await queryRunner.query(
      'CREATE TABLE "models" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(128) NOT NULL, "aliases" text array NOT NULL DEFAULT \'{}\', "tier" character varying(16) NOT NULL, "priority" integer NOT NULL DEFAULT \'100\', "provider_kind" character varying(32) NOT NULL, "upstream_id" uuid, "enabled" boolean NOT NULL DEFAULT true, "context_length" integer, "supports_tools" boolean NOT NULL DEFAULT false, "supports_vision" boolean NOT NULL DEFAULT false, "supports_embeddings" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ef9ed7160ea69013636466bf2d5" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_models_name" ON "models"  ("name") ');
    await queryRunner.query(
      'ALTER TABLE "models" ADD CONSTRAINT "FK_db7a72832da5eb92b32bdd03754" FOREIGN KEY ("upstream_id") REFERENCES "llm_upstreams"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "models" DROP CONSTRAINT "FK_db7a72832da5eb92b32bdd03754"');
    await queryRunner.query('DROP INDEX "public"."uq_models_name"');
    await queryRunner.query('DROP TABLE "models"');
    await queryRunner.query('DROP INDEX "public"."uq_llm_upstreams_name"');
    await queryRunner.query('DROP TABLE "llm_upstreams"');
  }
}
