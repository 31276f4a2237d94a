import { MigrationInterface, QueryRunner } from 'typeorm';

export class ConversationGrounding1795618346646 implements MigrationInterface {
  name = 'ConversationGrounding1795618346646';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "conversation_knowledge_bases" ("conversation_id" uuid NOT NULL, "knowledge_base_id" uuid NOT NULL, "position" smallint NOT NULL, CONSTRAINT "PK_37d36f24b7624703a2e873c1249" PRIMARY KEY ("conversation_id", "knowledge_base_id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_conversation_knowledge_bases_kb" ON "conversation_knowledge_bases"  ("knowledge_base_id") ');
    await queryRunner.query('ALTER TABLE "conversation_messages" ADD "citations" jsonb');
    await queryRunner.query('ALTER TABLE "conversation_messages" ADD "grounding" jsonb');
    await queryRunner.query(
      'ALTER TABLE "conversation_knowledge_bases" ADD CONSTRAINT "FK_60e85d718644aea1758c368ddb9" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "conversation_knowledge_bases" ADD CONSTRAINT "FK_19758de8611307d3f9008fd34f3" FOREIGN KEY ("knowledge_base_id") REFERENCES "knowledge_bases"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "conversation_knowledge_bases" DROP CONSTRAINT "FK_19758de8611307d3f9008fd34f3"');
    await queryRunner.query('ALTER TABLE "conversation_knowledge_bases" DROP CONSTRAINT "FK_60e85d718644aea1758c368ddb9"');
    await queryRunner.query('ALTER TABLE "conversation_messages" DROP COLUMN "grounding"');
    await queryRunner.query('ALTER TABLE "conversation_messages" DROP COLUMN "citations"');
    await queryRunner.query('DROP INDEX "public"."idx_conversation_knowledge_bases_kb"');
    await queryRunner.query('DROP TABLE "conversation_knowledge_bases"');
  }
}
