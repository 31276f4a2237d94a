import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import type { UsageRecordInput, UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import { QuotaExceededException } from 'src/modules/model-router/usage/usage.exception';
import { UsageService } from 'src/modules/model-router/usage/usage.service';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

type Account = Awaited<ReturnType<ApiClient['register']>>;

describe.each(['embedded', 'postgres'] as const)('token quotas and usage over REST (%s)', (database) => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Account;
  let member: Account;
  let other: Account;
  let team: string;

  beforeAll(async () => {
    testApp = await startTestApp({ database });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    member = await api.register('member@example.com');
    other = await api.register('other@example.com');
    // A team workspace owned by `other`, where `member` is a plain member.
    team = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: other.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${team}/members`, { email: 'member@example.com', role: 'member' }, { token: other.accessToken });
  });
  afterAll(async () => {
    await testApp?.close();
  });

  const asAdmin = () => ({ token: admin.accessToken as string });
  const quotaPath = (scope: string, subjectId: string, period: string) => `/api/v1/admin/quotas/${scope}/${subjectId}/${period}`;
  const quotas = () => testApp.app.get(QuotaService);
  const recordUsage = async (records: Partial<UsageRecordInput>[], subject: UsageSubject) => {
    const usage = testApp.app.get(UsageService);
    for (const record of records) {
      usage.record({
        subject,
        kind: 'chat',
        requestedModel: 'auto',
        model: 'llama3.2:3b',
        provider: 'ollama',
        nodeId: 'ollama:http://gpu-1:11434',
        promptTokens: 10,
        completionTokens: 20,
        timeToFirstTokenMs: 100,
        durationMs: 500,
        outcome: 'complete',
        cached: false,
        errorCode: null,
        ...record,
      });
    }
    await usage.flush();
  };

  describe('admin quota API', () => {
    it('is for instance admins only, and changes need a session', async () => {
      const subject = member.user.id as string;
      for (const response of [
        await api.get('/api/v1/admin/quotas', { token: member.accessToken }),
        await api.put(quotaPath('user', subject, 'day'), { limitTokens: 10 }, { token: member.accessToken }),
        await api.delete(quotaPath('user', subject, 'day'), { token: member.accessToken }),
      ]) {
        expect(response.status).toBe(403);
      }
      expect((await api.get('/api/v1/admin/quotas')).status).toBe(401);
      const key = (await api.post('/api/v1/api-keys', { name: 'admin key' }, asAdmin())).body.key as string;
      expect((await api.get('/api/v1/admin/quotas', { apiKey: key })).status).toBe(200);
      const byKey = await api.put(quotaPath('user', subject, 'day'), { limitTokens: 10 }, { apiKey: key });
      expect(byKey.status).toBe(403);
      expect(byKey.body.code).toBe('AUTH_API_KEY_NOT_ALLOWED');
    });

    it('upserts, lists, changes and deletes a quota, and audits each change', async () => {
      const path = quotaPath('workspace', member.workspaceId, 'month');
      const created = await api.put(path, { limitTokens: 5_000_000 }, asAdmin());
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        scope: 'workspace',
        subjectId: member.workspaceId,
        period: 'month',
        limitTokens: 5_000_000,
        usedTokens: 0,
      });
      const now = new Date();
      expect(created.body.resetAt).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());

      const changed = await api.put(path, { limitTokens: 1_000_000_000_000 }, asAdmin());
      expect(changed.body).toMatchObject({ id: created.body.id, limitTokens: 1_000_000_000_000 });

      const listed = await api.get(`/api/v1/admin/quotas?scope=workspace&subjectId=${member.workspaceId}`, asAdmin());
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ total: 1, items: [{ id: created.body.id, period: 'month', limitTokens: 1_000_000_000_000 }] });
      expect((await api.get('/api/v1/admin/quotas?period=day&scope=workspace', asAdmin())).body.items).toEqual([]);

      expect((await api.delete(path, asAdmin())).status).toBe(204);
      const again = await api.delete(path, asAdmin());
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('QUOTA_NOT_FOUND');

      const audit = await api.get('/api/v1/admin/audit-events?limit=10', asAdmin());
      const actions = audit.body
        .filter((event: any) => event.targetId === created.body.id)
        .map((event: any) => [event.action, event.metadata]);
      const key = { scope: 'workspace', subjectId: member.workspaceId, period: 'month' };
      expect(actions).toEqual([
        ['quota.deleted', { ...key, limitTokens: 1_000_000_000_000 }],
        ['quota.set', { ...key, from: 5_000_000, to: 1_000_000_000_000 }],
        ['quota.set', { ...key, from: null, to: 5_000_000 }],
      ]);
    });

    it('answers 404 for subjects that do not exist', async () => {
      for (const scope of ['workspace', 'user', 'api-key']) {
        const response = await api.put(quotaPath(scope, randomUUID(), 'day'), { limitTokens: 100 }, asAdmin());
        expect(response.status).toBe(404);
        expect(response.body.code).toBe('QUOTA_SUBJECT_NOT_FOUND');
      }
      const key = (await api.post('/api/v1/api-keys', { name: 'soon revoked' }, { token: member.accessToken })).body;
      await api.delete(`/api/v1/api-keys/${key.id}`, { token: member.accessToken });
      expect((await api.put(quotaPath('api-key', key.id, 'day'), { limitTokens: 100 }, asAdmin())).status).toBe(404);
    });

    it('rejects malformed paths, bodies and filters with 400', async () => {
      const subject = member.user.id as string;
      const badPaths = [quotaPath('team', subject, 'day'), quotaPath('user', subject, 'week'), quotaPath('user', 'not-a-uuid', 'day')];
      for (const path of badPaths) {
        expect((await api.put(path, { limitTokens: 10 }, asAdmin())).status).toBe(400);
        expect((await api.delete(path, asAdmin())).status).toBe(400);
      }
      const path = quotaPath('user', subject, 'day');
      for (const body of [
        {},
        { limitTokens: 0 },
        { limitTokens: -5 },
        { limitTokens: 1.5 },
        { limitTokens: '100' },
        { limitTokens: 1_000_000_000_001 },
        { limitTokens: 10, scope: 'workspace' },
      ]) {
        const response = await api.put(path, body, asAdmin());
        expect(response.status, JSON.stringify(body)).toBe(400);
      }
      expect((await api.put(path, undefined, { ...asAdmin(), rawBody: '{"limitTokens": 1' })).status).toBe(400);
      const oversized = await api.put(path, undefined, {
        ...asAdmin(),
        rawBody: JSON.stringify({ limitTokens: 1, pad: 'x'.repeat(1_100_000) }),
      });
      expect(oversized.status).toBe(413);
      for (const query of ['scope=team', 'period=year', 'subjectId=x', 'limit=0', 'limit=201', 'offset=-1', 'unknown=1']) {
        expect((await api.get(`/api/v1/admin/quotas?${query}`, asAdmin())).status, query).toBe(400);
      }
      expect((await api.get(`/api/v1/admin/quotas?scope=user&subjectId=${subject}`, asAdmin())).body.total).toBe(0);
    });

    it("goes away with its subject's workspace", async () => {
      const doomed = (await api.post('/api/v1/workspaces', { name: 'Doomed' }, { token: other.accessToken })).body.id as string;
      expect((await api.put(quotaPath('workspace', doomed, 'day'), { limitTokens: 100 }, asAdmin())).status).toBe(200);
      expect((await api.delete(`/api/v1/workspaces/${doomed}`, { token: other.accessToken })).status).toBe(204);
      expect((await api.get(`/api/v1/admin/quotas?subjectId=${doomed}`, asAdmin())).body.total).toBe(0);
    });
  });

  describe('enforcement and the caller view', () => {
    it('applies a new limit on the next call and shows what is left', async () => {
      const subject: UsageSubject = { workspaceId: member.workspaceId, userId: member.user.id, apiKeyId: null };
      expect(await quotas().reserve(subject, { promptTokens: 100, maxCompletionTokens: 100 })).toMatchObject({ completionTokenCap: null });
      expect((await api.get('/api/v1/usage/quota', { token: member.accessToken })).body).toEqual([]);

      await api.put(quotaPath('user', member.user.id, 'day'), { limitTokens: 1000 }, asAdmin());
      const held = await quotas().reserve(subject, { promptTokens: 300 });
      expect(held).toMatchObject({ reservedTokens: 1000, completionTokenCap: 700 });
      const error = await quotas()
        .reserve(subject, { promptTokens: 1, maxCompletionTokens: 1 })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QuotaExceededException);
      await quotas().settle(held, 420);

      const status = await api.get('/api/v1/usage/quota', { token: member.accessToken });
      expect(status.status).toBe(200);
      const now = new Date();
      expect(status.body).toEqual([
        {
          scope: 'user',
          subjectId: member.user.id,
          period: 'day',
          limitTokens: 1000,
          usedTokens: 420,
          remainingTokens: 580,
          resetAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString(),
        },
      ]);
      // The user quota follows the user into every workspace.
      const inTeam = await api.get('/api/v1/usage/quota', { token: member.accessToken, workspaceId: team });
      expect(inTeam.body.map((quota: any) => quota.usedTokens)).toEqual([420]);
      // Admins see the same counter.
      const adminView = await api.get(`/api/v1/admin/quotas?subjectId=${member.user.id}`, asAdmin());
      expect(adminView.body.items[0].usedTokens).toBe(420);

      await api.delete(quotaPath('user', member.user.id, 'day'), asAdmin());
      expect(await quotas().reserve(subject, { promptTokens: 5000 })).toMatchObject({ completionTokenCap: null });
    });
  });

  describe('usage records', () => {
    it("shows members their own calls, with totals by model, and owners the whole workspace's", async () => {
      const memberKey = (await api.post('/api/v1/api-keys', { name: 'team key' }, { token: member.accessToken, workspaceId: team })).body;
      await recordUsage(
        [
          { promptTokens: 100, completionTokens: 50 },
          { model: 'llama3.1:8b', promptTokens: 7, completionTokens: 3, requestedModel: 'balanced' },
          {
            model: null,
            provider: null,
            nodeId: null,
            outcome: 'error',
            errorCode: 'ROUTER_NO_NODE',
            promptTokens: 0,
            completionTokens: 0,
          },
        ],
        { workspaceId: team, userId: member.user.id, apiKeyId: null },
      );
      await recordUsage([{ promptTokens: 1, completionTokens: 1 }], { workspaceId: team, userId: member.user.id, apiKeyId: memberKey.id });
      await recordUsage([{ promptTokens: 1000, completionTokens: 1000 }], { workspaceId: team, userId: other.user.id, apiKeyId: null });

      const own = await api.get('/api/v1/usage', { token: member.accessToken, workspaceId: team });
      expect(own.status).toBe(200);
      expect(own.body.items).toHaveLength(4);
      expect(own.body.items.every((item: any) => item.userId === member.user.id)).toBe(true);
      expect(own.body.items[0]).toMatchObject({ apiKeyId: memberKey.id, totalTokens: 2 });
      expect(own.body.totals).toEqual({
        calls: 4,
        promptTokens: 108,
        completionTokens: 54,
        totalTokens: 162,
        byModel: [
          { model: 'llama3.1:8b', calls: 1, promptTokens: 7, completionTokens: 3, totalTokens: 10 },
          { model: 'llama3.2:3b', calls: 2, promptTokens: 101, completionTokens: 51, totalTokens: 152 },
          { model: null, calls: 1, promptTokens: 0, completionTokens: 0, totalTokens: 0 },
        ],
      });
      expect(own.body.nextCursor).toBeNull();

      const whole = await api.get('/api/v1/usage', { token: other.accessToken, workspaceId: team });
      expect(whole.body.totals).toMatchObject({ calls: 5, totalTokens: 2162 });
      const onlyMember = await api.get(`/api/v1/usage?userId=${member.user.id}`, { token: other.accessToken, workspaceId: team });
      expect(onlyMember.body.totals.calls).toBe(4);
      const onlyKey = await api.get(`/api/v1/usage?apiKeyId=${memberKey.id}`, { token: other.accessToken, workspaceId: team });
      expect(onlyKey.body.items.map((item: any) => item.apiKeyId)).toEqual([memberKey.id]);
      const onlyModel = await api.get('/api/v1/usage?model=llama3.1:8b', { token: other.accessToken, workspaceId: team });
      expect(onlyModel.body.items.map((item: any) => item.requestedModel)).toEqual(['balanced']);

      // The API key itself reads the same view as its owner.
      const byKey = await api.get('/api/v1/usage', { apiKey: memberKey.key });
      expect(byKey.body.totals.calls).toBe(4);

      // Nothing of the team shows in the member's personal workspace.
      expect((await api.get('/api/v1/usage', { token: member.accessToken })).body.totals.calls).toBe(0);
    });

    it('pages newest first with a cursor and filters by time range', async () => {
      const subject = { workspaceId: other.workspaceId, userId: other.user.id, apiKeyId: null };
      for (let i = 0; i < 5; i++) {
        await recordUsage([{ promptTokens: i, requestedModel: `call-${i}` }], subject);
        // Distinct milliseconds, so that "newest first" has one answer.
        await sleep(3);
      }
      const first = await api.get('/api/v1/usage?limit=2', { token: other.accessToken });
      expect(first.body.items.map((item: any) => item.requestedModel)).toEqual(['call-4', 'call-3']);
      expect(first.body.totals.calls).toBe(5);
      const second = await api.get(`/api/v1/usage?limit=2&before=${first.body.nextCursor}`, { token: other.accessToken });
      expect(second.body.items.map((item: any) => item.requestedModel)).toEqual(['call-2', 'call-1']);
      const last = await api.get(`/api/v1/usage?limit=2&before=${second.body.nextCursor}`, { token: other.accessToken });
      expect(last.body.items.map((item: any) => item.requestedModel)).toEqual(['call-0']);
      expect(last.body.nextCursor).toBeNull();

      const future = new Date(Date.now() + 60_000).toISOString();
      const later = await api.get(
        `/api/v1/usage?from=${encodeURIComponent(future)}&to=${encodeURIComponent(new Date(Date.now() + 120_000).toISOString())}`,
        {
          token: other.accessToken,
        },
      );
      expect(later.body).toMatchObject({ items: [], totals: { calls: 0, totalTokens: 0, byModel: [] } });
    });

    it("never reveals another member's or another workspace's usage", async () => {
      // A plain member asking for someone else.
      const forbidden = await api.get(`/api/v1/usage?userId=${other.user.id}`, { token: member.accessToken, workspaceId: team });
      expect(forbidden.status).toBe(403);
      // An owner asking about someone outside the workspace, or a key of another workspace.
      expect((await api.get(`/api/v1/usage?userId=${admin.user.id}`, { token: other.accessToken, workspaceId: team })).status).toBe(404);
      const foreignKey = (await api.post('/api/v1/api-keys', { name: 'personal' }, { token: member.accessToken })).body.id;
      expect((await api.get(`/api/v1/usage?apiKeyId=${foreignKey}`, { token: other.accessToken, workspaceId: team })).status).toBe(404);
      // A member filtering by another member's key learns nothing either.
      const ownersKey = (await api.post('/api/v1/api-keys', { name: 'owner' }, { token: other.accessToken, workspaceId: team })).body.id;
      expect((await api.get(`/api/v1/usage?apiKeyId=${ownersKey}`, { token: member.accessToken, workspaceId: team })).status).toBe(404);
      // A cursor from another workspace.
      const foreign = await api.get('/api/v1/usage?limit=1', { token: other.accessToken });
      const cursor = foreign.body.items[0].id;
      expect((await api.get(`/api/v1/usage?before=${cursor}`, { token: member.accessToken })).status).toBe(404);
      // A workspace the caller is not in.
      expect((await api.get('/api/v1/usage', { token: admin.accessToken, workspaceId: team })).status).toBe(404);
      expect((await api.get('/api/v1/usage/quota', { token: admin.accessToken, workspaceId: team })).status).toBe(404);
      expect((await api.get('/api/v1/usage')).status).toBe(401);
    });

    it('rejects malformed queries with 400', async () => {
      const day = 86_400_000;
      for (const query of [
        'from=yesterday',
        'to=2026-13-01T00:00:00Z',
        'userId=me',
        'apiKeyId=1',
        'before=abc',
        'limit=0',
        'limit=201',
        'limit=ten',
        `model=${'m'.repeat(129)}`,
        'unknown=1',
        `from=${new Date(Date.now() - 400 * day).toISOString()}`,
        `from=${new Date().toISOString()}&to=${new Date(Date.now() - day).toISOString()}`,
      ]) {
        const response = await api.get(`/api/v1/usage?${query.replace(/\+/g, '%2B')}`, { token: member.accessToken });
        expect(response.status, query).toBe(400);
      }
    });
  });
});
