import { MigrationInterface, QueryRunner } from 'typeorm';

export class Rag1795607855361 implements MigrationInterface {
  name = 'Rag1795607855361';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "knowledge_bases" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "name" character varying(120) NOT NULL, "description" text, "embedder_id" character varying(200) NOT NULL DEFAULT \'use-512\', "dimension" integer NOT NULL, "chunk_tokens" integer NOT NULL DEFAULT \'400\', "overlap_tokens" integer NOT NULL DEFAULT \'60\', "created_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b7da0ee578e15ebb6213465440d" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_knowledge_bases_workspace_name" ON "knowledge_bases"  ("workspace_id", "name") ');
    await queryRunner.query(
      'CREATE TABLE "rag_documents" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "knowledge_base_id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "name" character varying(255) NOT NULL, "format" character varying(16) NOT NULL, "content_type" character varying(255), "size_bytes" bigint NOT NULL, "sha256" character(64) NOT NULL, "storage_key" character varying(512) NOT NULL, "status" character varying(16) NOT NULL DEFAULT \'queued\', "error_code" character varying(64), "error_message" text, "progress" integer NOT NULL DEFAULT \'0\', "generation" integer NOT NULL DEFAULT \'0\', "chunk_count" integer NOT NULL DEFAULT \'0\', "page_count" integer, "source_url" text, "created_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_0c27c0f160af990a817ba71c32a" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_rag_documents_workspace_kb" ON "rag_documents"  ("workspace_id", "knowledge_base_id") ');
    await queryRunner.query('CREATE UNIQUE INDEX "uq_rag_documents_kb_sha256" ON "rag_documents"  ("knowledge_base_id", "sha256") ');
    await queryRunner.query(
      'CREATE TABLE "rag_chunks" ("id" text NOT NULL, "document_id" uuid NOT NULL, "knowledge_base_id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "chunk_index" integer NOT NULL, "text" text NOT NULL, "page" integer, "headings" text array NOT NULL DEFAULT \'{}\', "start_offset" integer NOT NULL, "end_offset" integer NOT NULL, "token_count" integer NOT NULL, "tsv" tsvector NOT NULL, CONSTRAINT "PK_5775a2e48c4774fbb9203b22fcd" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_rag_chunks_tsv" ON "rag_chunks" USING gin ("tsv") ');
    await queryRunner.query('CREATE INDEX "idx_rag_chunks_document" ON "rag_chunks"  ("document_id", "chunk_index") ');
    await queryRunner.query('CREATE INDEX "idx_rag_chunks_scope" ON "rag_chunks"  ("workspace_id", "knowledge_base_id") ');
    await queryRunner.query(
      'ALTER TABLE "knowledge_bases" ADD CONSTRAINT "FK_4e17aa01aed6bb536a1960ae854" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "knowledge_bases" ADD CONSTRAINT "FK_51da4fa8719970ba2e4c24598ac" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "rag_documents" ADD CONSTRAINT "FK_946affb330cb6289d2f66081397" FOREIGN KEY ("knowledge_base_id") REFERENCES "knowledge_bases"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "rag_documents" ADD CONSTRAINT "FK_ca63371f5d7e01afda6256539d4" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "rag_chunks" ADD CONSTRAINT "FK_44209ba9d30face3080d69eb4e2" FOREIGN KEY ("document_id") REFERENCES "rag_documents"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "rag_chunks" DROP CONSTRAINT "FK_44209ba9d30face3080d69eb4e2"');
    await queryRunner.query('ALTER TABLE "rag_documents" DROP CONSTRAINT "FK_ca63371f5d7e01afda6256539d4"');
    await queryRunner.query('ALTER TABLE "rag_documents" DROP CONSTRAINT "FK_946affb330cb6289d2f66081397"');
    await queryRunner.query('ALTER TABLE "knowledge_bases" DROP CONSTRAINT "FK_51da4fa8719970ba2e4c24598ac"');
    await queryRunner.query('ALTER TABLE "knowledge_bases" DROP CONSTRAINT "FK_4e17aa01aed6bb536a1960ae854"');
    await queryRunner.query('DROP INDEX "public"."idx_rag_chunks_scope"');
    await queryRunner.query('DROP INDEX "public"."idx_rag_chunks_document"');
    await queryRunner.query('DROP INDEX "public"."idx_rag_chunks_tsv"');
    await queryRunner.query('DROP TABLE "rag_chunks"');
    await queryRunner.query('DROP INDEX "public"."uq_rag_documents_kb_sha256"');
    await queryRunner.query('DROP INDEX "public"."idx_rag_documents_workspace_kb"');
    await queryRunner.query('DROP TABLE "rag_documents"');
    await queryRunner.query('DROP INDEX "public"."uq_knowledge_bases_workspace_name"');
    await queryRunner.query('DROP TABLE "knowledge_bases"');
  }
}
