import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import type { UsageRecordInput } from 'src/modules/model-router/usage/usage.contract';
import type { UsageRepository, UsageRow } from 'src/modules/model-router/usage/usage.repository';
import { UsageService } from 'src/modules/model-router/usage/usage.service';

/** Stores rows in memory; can refuse rows of one workspace (a deleted one) or everything (database away). */
class RecordingRepository {
  rows: UsageRow[] = [];
  inserts = 0;
  down = false;
  deletedWorkspace?: string;

  insert(rows: readonly UsageRow[]): Promise<void> {
    this.inserts++;
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    if (rows.some((row) => row.workspaceId === this.deletedWorkspace)) {
      return Promise.reject(new QueryFailedError('INSERT', [], Object.assign(new Error('violates foreign key'), { code: '23503' })));
    }
    this.rows.push(...rows);
    return Promise.resolve();
  }
}

const input = (overrides: Partial<UsageRecordInput> = {}): UsageRecordInput => ({
  subject: { workspaceId: randomUUID(), userId: randomUUID(), apiKeyId: null },
  kind: 'chat',
  requestedModel: 'auto',
  model: 'llama3.2:3b',
  provider: 'ollama',
  nodeId: 'ollama:http://gpu-1:11434',
  promptTokens: 12,
  completionTokens: 34,
  timeToFirstTokenMs: 150,
  durationMs: 900,
  outcome: 'complete',
  cached: false,
  errorCode: null,
  ...overrides,
});

const create = () => {
  const repository = new RecordingRepository();
  return { repository, usage: new UsageService(repository as unknown as UsageRepository) };
};

describe('UsageService', () => {
  it('batches records into one insert and writes them within the flush delay', async () => {
    const { repository, usage } = create();
    for (let i = 0; i < 5; i++) usage.record(input());
    expect(repository.rows).toHaveLength(0);
    await sleep(700);
    expect(repository.rows).toHaveLength(5);
    expect(repository.inserts).toBe(1);
  });

  it('writes what is buffered before shutdown', async () => {
    const { repository, usage } = create();
    usage.record(input());
    usage.record(input({ outcome: 'error', model: null, errorCode: 'ROUTER_NO_NODE' }));
    await usage.beforeApplicationShutdown();
    expect(repository.rows.map((row) => row.outcome)).toEqual(['complete', 'error']);
    // Records that still arrive during shutdown are written straight away.
    usage.record(input());
    await usage.flush();
    expect(repository.rows).toHaveLength(3);
  });

  it('bounds values to their columns instead of losing the row', async () => {
    const { repository, usage } = create();
    usage.record(
      input({
        requestedModel: 'x'.repeat(500),
        nodeId: 'n'.repeat(400),
        promptTokens: -5,
        completionTokens: Number.NaN,
        durationMs: 1e12,
        timeToFirstTokenMs: 12.6,
      }),
    );
    await usage.flush();
    expect(repository.rows[0]).toMatchObject({ promptTokens: 0, completionTokens: 0, durationMs: 2_147_483_647, timeToFirstTokenMs: 13 });
    expect(repository.rows[0].requestedModel).toHaveLength(128);
    expect(repository.rows[0].nodeId).toHaveLength(255);
  });

  it('keeps the rest of a batch when one row is refused', async () => {
    const { repository, usage } = create();
    const gone = randomUUID();
    repository.deletedWorkspace = gone;
    usage.record(input());
    usage.record(input({ subject: { workspaceId: gone, userId: randomUUID() } }));
    usage.record(input());
    await usage.flush();
    expect(repository.rows).toHaveLength(2);
    expect(repository.rows.every((row) => row.workspaceId !== gone)).toBe(true);
  });

  it('keeps the rows while the database is away and writes them once it is back', async () => {
    const { repository, usage } = create();
    repository.down = true;
    usage.record(input({ requestedModel: 'first' }));
    await usage.flush();
    usage.record(input({ requestedModel: 'second' }));
    repository.down = false;
    await usage.flush();
    expect(repository.rows.map((row) => row.requestedModel)).toEqual(['first', 'second']);
  });

  it('never throws into the caller', () => {
    const { usage } = create();
    expect(() => usage.record(undefined as unknown as UsageRecordInput)).not.toThrow();
    expect(() => usage.record({ ...input(), requestedModel: undefined as unknown as string })).not.toThrow();
  });
});
