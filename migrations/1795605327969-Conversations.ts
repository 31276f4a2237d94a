import { MigrationInterface, QueryRunner } from 'typeorm';

export class Conversations1795605327969 implements MigrationInterface {
  name = 'Conversations1795605327969';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "conversations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "user_id" uuid NOT NULL, "title" character varying(200), "model" character varying(128) NOT NULL DEFAULT \'auto\', "system_prompt" text, "message_count" integer NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_message_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ee34f4f7ced4ec8681f26bf04ef" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_conversations_owner" ON "conversations"  ("workspace_id", "user_id") ');
    await queryRunner.query(
      'CREATE TABLE "conversation_messages" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "conversation_id" uuid NOT NULL, "sequence" integer NOT NULL, "role" character varying(16) NOT NULL, "content" text NOT NULL, "status" character varying(16) NOT NULL, "model" character varying(128), "node_id" character varying(300), "routing" jsonb, "finish_reason" character varying(16), "prompt_tokens" integer, "completion_tokens" integer, "error_code" character varying(64), "error_message" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_113248f25c4c0a7c179b3f5a609" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE UNIQUE INDEX "uq_conversation_messages_sequence" ON "conversation_messages"  ("conversation_id", "sequence") ',
    );
    await queryRunner.query(
      'ALTER TABLE "conversations" ADD CONSTRAINT "FK_2136015a4b73fb4898773f2226f" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "conversations" ADD CONSTRAINT "FK_3a9ae579e61e81cc0e989afeb4a" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "conversation_messages" ADD CONSTRAINT "FK_8e166abf2dd2ee28670e53e6803" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "conversation_messages" DROP CONSTRAINT "FK_8e166abf2dd2ee28670e53e6803"');
    await queryRunner.query('ALTER TABLE "conversations" DROP CONSTRAINT "FK_3a9ae579e61e81cc0e989afeb4a"');
    await queryRunner.query('ALTER TABLE "conversations" DROP CONSTRAINT "FK_2136015a4b73fb4898773f2226f"');
    await queryRunner.query('DROP INDEX "public"."uq_conversation_messages_sequence"');
    await queryRunner.query('DROP TABLE "conversation_messages"');
    await queryRunner.query('DROP INDEX "public"."idx_conversations_owner"');
    await queryRunner.query('DROP TABLE "conversations"');
  }
}
