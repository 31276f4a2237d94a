import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data, not schema (written by hand): the first-boot model catalogue. As a migration it runs
 * exactly once per database, so defaults an admin later deletes or changes stay that way.
 */
const DEFAULTS: [name: string, aliases: string[], tier: string][] = [
  ['llama3.2:3b', ['llama3.2'], 'fast'],
  ['llama3.1:8b', ['llama3.1'], 'balanced'],
  ['llama3.1:70b', [], 'powerful'],
];

export class SeedDefaultModels1795601606416 implements MigrationInterface {
  name = 'SeedDefaultModels1795601606416';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const [name, aliases, tier] of DEFAULTS) {
      await queryRunner.query(
        `INSERT INTO "models" ("name", "aliases", "tier", "provider_kind", "context_length", "supports_tools") VALUES ($1, $2, $3, 'ollama', 131072, true) ON CONFLICT DO NOTHING`,
        [name, aliases, tier],
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "models" WHERE "provider_kind" = 'ollama' AND "name" = ANY($1)`, [DEFAULTS.map(([name]) => name)]);
  }
}
