import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795596680109 implements MigrationInterface {
  name = 'Initial1795596680109';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "users" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" character varying(320) NOT NULL, "name" character varying(120) NOT NULL, "password_hash" character varying(255), "instance_role" character varying(16) NOT NULL DEFAULT \'user\', "status" character varying(16) NOT NULL DEFAULT \'active\', "rate_limit_tier" character varying(16) NOT NULL DEFAULT \'standard\', "personal_workspace_id" uuid, "oidc_subject" character varying(512), "suspended_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_users_email" ON "users"  ("email") ');
    await queryRunner.query('CREATE UNIQUE INDEX "uq_users_oidc_subject" ON "users"  ("oidc_subject") WHERE oidc_subject IS NOT NULL');
    await queryRunner.query(
      'CREATE TABLE "workspaces" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(120) NOT NULL, "personal" boolean NOT NULL DEFAULT false, "created_by_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_098656ae401f3e1a4586f47fd8e" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "prefix" character varying(16) NOT NULL, "secret_hash" character(64) NOT NULL, "name" character varying(100) NOT NULL, "user_id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "permissions" text array NOT NULL, "rate_limit_tier" character varying(16) NOT NULL DEFAULT \'standard\', "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_api_keys_prefix" ON "api_keys"  ("prefix") ');
    await queryRunner.query('CREATE INDEX "idx_api_keys_workspace" ON "api_keys"  ("workspace_id") ');
    await queryRunner.query(
      'CREATE TABLE "sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "method" character varying(16) NOT NULL, "ip" character varying(64), "user_agent" character varying(256), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "revoked_reason" character varying(32), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_3238ef96f18b355b671619111bc" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_sessions_user" ON "sessions"  ("user_id") ');
    await queryRunner.query(
      'CREATE TABLE "refresh_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "session_id" uuid NOT NULL, "secret_hash" character(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7d8bee0204106019488c4c50ffa" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_refresh_tokens_session" ON "refresh_tokens"  ("session_id") ');
    await queryRunner.query(
      'CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "action" character varying(64) NOT NULL, "actor_user_id" uuid, "actor_api_key_id" uuid, "target_type" character varying(32), "target_id" character varying(64), "workspace_id" uuid, "ip" character varying(64), "metadata" jsonb NOT NULL DEFAULT \'{}\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_audit_events_actor" ON "audit_events"  ("actor_user_id", "created_at") ');
    await queryRunner.query('CREATE INDEX "idx_audit_events_created" ON "audit_events"  ("created_at") ');
    await queryRunner.query(
      'CREATE TABLE "instance_settings" ("key" character varying(64) NOT NULL, "value" jsonb NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f4841fbd4c9819d5ade4b5dfeb8" PRIMARY KEY ("key"))',
    );
    await queryRunner.query(
      'CREATE TABLE "workspace_roles" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "workspace_id" uuid NOT NULL, "name" character varying(64) NOT NULL, "permissions" text array NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_75cb113a459df01eb998fc4845f" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_workspace_roles_name" ON "workspace_roles"  ("workspace_id", "name") ');
    await queryRunner.query(
      'CREATE TABLE "workspace_members" ("workspace_id" uuid NOT NULL, "user_id" uuid NOT NULL, "role" character varying(16) NOT NULL, "custom_role_id" uuid, "joined_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4896b609c71ca5ad20ad662077b" PRIMARY KEY ("workspace_id", "user_id"))',
    );
    await queryRunner.query('CREATE INDEX "idx_workspace_members_user" ON "workspace_members"  ("user_id") ');
    await queryRunner.query(
      'ALTER TABLE "api_keys" ADD CONSTRAINT "FK_a3baee01d8408cd3c0f89a9a973" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "api_keys" ADD CONSTRAINT "FK_deb68fe8625b21785d1c48283e4" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "sessions" ADD CONSTRAINT "FK_085d540d9f418cfbdc7bd55bb19" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "refresh_tokens" ADD CONSTRAINT "FK_3bf308fa93da3966f9e76fcfba4" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "workspace_roles" ADD CONSTRAINT "FK_02077cd0b0cfe87f39b2ace64d2" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "workspace_members" ADD CONSTRAINT "FK_4a7c584ddfe855379598b5e20fd" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "workspace_members" ADD CONSTRAINT "FK_4e83431119fa585fc7aa8b817db" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE "workspace_members" ADD CONSTRAINT "FK_be61303b6ba0de7ed5938612418" FOREIGN KEY ("custom_role_id") REFERENCES "workspace_roles"("id") ON DELETE RESTRICT ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "workspace_members" DROP CONSTRAINT "FK_be61303b6ba0de7ed5938612418"');
    await queryRunner.query('ALTER TABLE "workspace_members" DROP CONSTRAINT "FK_4e83431119fa585fc7aa8b817db"');
    await queryRunner.query('ALTER TABLE "workspace_members" DROP CONSTRAINT "FK_4a7c584ddfe855379598b5e20fd"');
    await queryRunner.query('ALTER TABLE "workspace_roles" DROP CONSTRAINT "FK_02077cd0b0cfe87f39b2ace64d2"');
    await queryRunner.query('ALTER TABLE "refresh_tokens" DROP CONSTRAINT "FK_3bf308fa93da3966f9e76fcfba4"');
    await queryRunner.query('ALTER TABLE "sessions" DROP CONSTRAINT "FK_085d540d9f418cfbdc7bd55bb19"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP CONSTRAINT "FK_deb68fe8625b21785d1c48283e4"');
    await queryRunner.query('ALTER TABLE "api_keys" DROP CONSTRAINT "FK_a3baee01d8408cd3c0f89a9a973"');
    await queryRunner.query('DROP INDEX "public"."idx_workspace_members_user"');
    await queryRunner.query('DROP TABLE "workspace_members"');
    await queryRunner.query('DROP INDEX "public"."uq_workspace_roles_name"');
    await queryRunner.query('DROP TABLE "workspace_roles"');
    await queryRunner.query('DROP TABLE "instance_settings"');
    await queryRunner.query('DROP INDEX "public"."idx_audit_events_created"');
    await queryRunner.query('DROP INDEX "public"."idx_audit_events_actor"');
    await queryRunner.query('DROP TABLE "audit_events"');
    await queryRunner.query('DROP INDEX "public"."idx_refresh_tokens_session"');
    await queryRunner.query('DROP TABLE "refresh_tokens"');
    await queryRunner.query('DROP INDEX "public"."idx_sessions_user"');
    await queryRunner.query('DROP TABLE "sessions"');
    await queryRunner.query('DROP INDEX "public"."idx_api_keys_workspace"');
    await queryRunner.query('DROP INDEX "public"."uq_api_keys_prefix"');
    await queryRunner.query('DROP TABLE "api_keys"');
    await queryRunner.query('DROP TABLE "workspaces"');
    await queryRunner.query('DROP INDEX "public"."uq_users_oidc_subject"');
    await queryRunner.query('DROP INDEX "public"."uq_users_email"');
    await queryRunner.query('DROP TABLE "users"');
  }
}
