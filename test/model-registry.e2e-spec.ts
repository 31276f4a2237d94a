import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistryRepository } from 'src/modules/model-router/registry/model-registry.repository';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { UpstreamsService } from 'src/modules/model-router/registry/upstreams.service';
import { GraphqlClient } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { OpenAiTestServer } from 'test/support/openai-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const UPSTREAM_KEY = 'sk-upstream-very-secret';

// Array operators and the seed's ON CONFLICT run on both PGlite and real PostgreSQL.
describe.each(['embedded', 'postgres'] as const)('model registry admin API (%s)', (database) => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let member: Awaited<ReturnType<ApiClient['register']>>;
  const upstreamServer = new OpenAiTestServer({ apiKey: UPSTREAM_KEY, models: ['gpt-test'] });

  beforeAll(async () => {
    await upstreamServer.start();
    testApp = await startTestApp({ database });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    member = await api.register('member@example.com');
  });
  afterAll(async () => {
    await testApp?.close();
    await upstreamServer.stop();
  });

  // Read lazily: `admin` is set in beforeAll.
  const asAdmin = () => ({ token: admin.accessToken as string });

  it('seeds the default tiers on first boot and lets members list enabled models', async () => {
    const listed = await api.get('/api/v1/models', { token: member.accessToken });
    expect(listed.status).toBe(200);
    expect(listed.body.map((m: any) => [m.name, m.tier, m.providerKind])).toEqual([
      ['llama3.1:8b', 'balanced', 'ollama'],
      ['llama3.2:3b', 'fast', 'ollama'],
      ['llama3.1:70b', 'powerful', 'ollama'],
    ]);
    expect((await api.get('/api/v1/models')).status).toBe(401);
  });

  it('lists models and upstreams over GraphQL with the same permissions', async () => {
    const gql = new GraphqlClient(testApp.baseUrl);
    const models = await gql.request('{ models { name tier providerKind aliases capabilities { tools vision embeddings } } }', undefined, {
      token: member.accessToken,
    });
    expect(models.errors).toBeUndefined();
    expect(models.data.models).toContainEqual({
      name: 'llama3.2:3b',
      tier: 'fast',
      providerKind: 'ollama',
      aliases: ['llama3.2'],
      capabilities: { tools: true, vision: false, embeddings: false },
    });
    const denied = await gql.request('{ upstreams { id } }', undefined, { token: member.accessToken });
    expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const adminModels = await gql.request('{ adminModels { name enabled } upstreams { id hasApiKey } }', undefined, {
      token: admin.accessToken,
    });
    expect(adminModels.errors).toBeUndefined();
    expect(adminModels.data.adminModels).toHaveLength(3);
  });

  it('refuses admin routes to non-admins, even for reading', async () => {
    for (const response of [
      await api.get('/api/v1/admin/models', { token: member.accessToken }),
      await api.get('/api/v1/admin/upstreams', { token: member.accessToken }),
      await api.post(
        '/api/v1/admin/upstreams',
        { name: 'x', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1' },
        { token: member.accessToken },
      ),
      await api.post('/api/v1/admin/models', { name: 'm', tier: 'fast', providerKind: 'ollama' }, { token: member.accessToken }),
    ]) {
      expect(response.status).toBe(403);
    }
  });

  it('stores an upstream key encrypted and never returns it', async () => {
    const created = await api.post(
      '/api/v1/admin/upstreams',
      { name: 'vllm-a', kind: 'openai-compatible', baseUrl: upstreamServer.url, apiKey: UPSTREAM_KEY },
      asAdmin(),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'vllm-a', baseUrl: upstreamServer.url, hasApiKey: true });
    expect(JSON.stringify(created.body)).not.toContain(UPSTREAM_KEY);
    expect(created.body).not.toHaveProperty('apiKey');
    expect(created.body).not.toHaveProperty('apiKeyEncrypted');

    const listed = await api.get('/api/v1/admin/upstreams', asAdmin());
    const fetched = await api.get(`/api/v1/admin/upstreams/${created.body.id}`, asAdmin());
    expect(JSON.stringify([listed.body, fetched.body])).not.toContain(UPSTREAM_KEY);

    const stored = await testApp.app.get(ModelRegistryRepository).findUpstream(created.body.id);
    expect(stored?.apiKeyEncrypted).toMatch(/^v1:/);
    expect(stored?.apiKeyEncrypted).not.toContain(UPSTREAM_KEY);

    // The router's provider gets the decrypted key and reaches the upstream with it.
    const provider = await testApp.app.get(UpstreamsService).createProvider(created.body.id);
    expect(await provider.listModels()).toEqual([{ name: 'gpt-test' }]);
    expect(upstreamServer.requests.at(-1)?.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);

    const cleared = await api.patch(`/api/v1/admin/upstreams/${created.body.id}`, { apiKey: null }, asAdmin());
    expect(cleared.body.hasApiKey).toBe(false);
    const restored = await api.patch(`/api/v1/admin/upstreams/${created.body.id}`, { apiKey: UPSTREAM_KEY }, asAdmin());
    expect(restored.body.hasApiKey).toBe(true);
  });

  it('refuses metadata, link-local and non-http upstream URLs', async () => {
    for (const baseUrl of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/v1',
      'http://metadata.google.internal/v1',
      'http://[fe80::1]:8000/v1',
      'file:///etc/passwd',
      'http://user:pass@10.0.0.1/v1',
      'not a url',
    ]) {
      const refused = await api.post('/api/v1/admin/upstreams', { name: 'evil', kind: 'openai-compatible', baseUrl }, asAdmin());
      expect(refused.status, baseUrl).toBe(400);
    }
    const upstreams = await api.get('/api/v1/admin/upstreams', asAdmin());
    expect(upstreams.body.map((u: any) => u.name)).not.toContain('evil');

    const existing = upstreams.body[0];
    const moved = await api.patch(`/api/v1/admin/upstreams/${existing.id}`, { baseUrl: 'http://169.254.169.254/' }, asAdmin());
    expect(moved.body.code).toBe('MODEL_INVALID_UPSTREAM_URL');
    expect((await api.get(`/api/v1/admin/upstreams/${existing.id}`, asAdmin())).body.baseUrl).toBe(upstreamServer.url);
  });

  it('rejects unknown fields, bad tiers, bad kinds and oversized values', async () => {
    const cases: [string, unknown][] = [
      ['/api/v1/admin/models', { name: 'm1', tier: 'turbo', providerKind: 'ollama' }],
      ['/api/v1/admin/models', { name: 'm1', tier: 'fast', providerKind: 'bedrock' }],
      ['/api/v1/admin/models', { name: 'm1', tier: 'fast', providerKind: 'ollama', baseUrl: 'http://evil/' }],
      ['/api/v1/admin/models', { name: 'bad name', tier: 'fast', providerKind: 'ollama' }],
      ['/api/v1/admin/models', { name: 'm1', tier: 'fast', providerKind: 'ollama', aliases: ['a', 'a'] }],
      ['/api/v1/admin/models', { name: 'm1', tier: 'fast', providerKind: 'ollama', contextLength: -1 }],
      [
        '/api/v1/admin/models',
        { name: 'm1', tier: 'fast', providerKind: 'ollama', capabilities: { tools: true, vision: false, embeddings: false, x: 1 } },
      ],
      ['/api/v1/admin/models', { name: 'x'.repeat(200), tier: 'fast', providerKind: 'ollama' }],
      ['/api/v1/admin/upstreams', { name: 'u1', kind: 'ollama', baseUrl: 'http://10.0.0.1/v1' }],
      ['/api/v1/admin/upstreams', { name: 'u1', kind: 'openai-compatible', baseUrl: 'http://10.0.0.1/v1', apiKeyEncrypted: 'x' }],
    ];
    for (const [path, body] of cases) {
      const response = await api.post(path, body, asAdmin());
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.get('/api/v1/admin/models/not-a-uuid', asAdmin())).status).toBe(400);
  });

  it('keeps names and aliases unique across models and off reserved words', async () => {
    const created = await api.post(
      '/api/v1/admin/models',
      { name: 'qwen2.5:7b', tier: 'balanced', providerKind: 'ollama', aliases: ['qwen'] },
      asAdmin(),
    );
    expect(created.status).toBe(201);
    expect(created.body.capabilities).toEqual({ tools: false, vision: false, embeddings: false });

    for (const body of [
      { name: 'other', tier: 'fast', providerKind: 'ollama', aliases: ['qwen'] },
      { name: 'qwen', tier: 'fast', providerKind: 'ollama' },
      { name: 'other', tier: 'fast', providerKind: 'ollama', aliases: ['llama3.1:8b'] },
      { name: 'qwen2.5:7b', tier: 'fast', providerKind: 'ollama' },
    ]) {
      const clash = await api.post('/api/v1/admin/models', body, asAdmin());
      expect(clash.status, JSON.stringify(body)).toBe(409);
      expect(clash.body.code).toBe('MODEL_NAME_TAKEN');
    }
    const reserved = await api.post(
      '/api/v1/admin/models',
      { name: 'other', tier: 'fast', providerKind: 'ollama', aliases: ['auto'] },
      asAdmin(),
    );
    expect(reserved.status).toBe(400);
    const selfAlias = await api.patch(`/api/v1/admin/models/${created.body.id}`, { aliases: ['qwen2.5:7b'] }, asAdmin());
    expect(selfAlias.status).toBe(400);
    // Re-saving a model with its own aliases is not a clash with itself.
    const same = await api.patch(`/api/v1/admin/models/${created.body.id}`, { aliases: ['qwen', 'qwen2.5'] }, asAdmin());
    expect(same.body.aliases).toEqual(['qwen', 'qwen2.5']);
  });

  it('ties openai-compatible models to an existing upstream and protects upstreams in use', async () => {
    const upstream = (await api.get('/api/v1/admin/upstreams', asAdmin())).body[0];
    const missing = await api.post(
      '/api/v1/admin/models',
      { name: 'gpt-test', tier: 'powerful', providerKind: 'openai-compatible' },
      asAdmin(),
    );
    expect(missing.status).toBe(400);
    const unknown = await api.post(
      '/api/v1/admin/models',
      { name: 'gpt-test', tier: 'powerful', providerKind: 'openai-compatible', upstreamId: '00000000-0000-4000-8000-000000000000' },
      asAdmin(),
    );
    expect(unknown.status).toBe(404);
    const ollamaWithUpstream = await api.post(
      '/api/v1/admin/models',
      { name: 'x1', tier: 'fast', providerKind: 'ollama', upstreamId: upstream.id },
      asAdmin(),
    );
    expect(ollamaWithUpstream.status).toBe(400);

    const model = await api.post(
      '/api/v1/admin/models',
      {
        name: 'gpt-test',
        tier: 'powerful',
        priority: 10,
        providerKind: 'openai-compatible',
        upstreamId: upstream.id,
        capabilities: { tools: true, vision: true, embeddings: false },
      },
      asAdmin(),
    );
    expect(model.status).toBe(201);
    const inUse = await api.delete(`/api/v1/admin/upstreams/${upstream.id}`, asAdmin());
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe('MODEL_UPSTREAM_IN_USE');
  });

  it('resolves names, aliases and tiers to enabled models only', async () => {
    const registry = testApp.app.get(ModelRegistryService);
    expect(await registry.resolveModel('llama3.2')).toMatchObject({ via: 'alias', models: [{ name: 'llama3.2:3b' }] });
    expect(await registry.resolveModel('llama3.1:8b')).toMatchObject({ via: 'name', models: [{ name: 'llama3.1:8b' }] });
    const powerful = await registry.resolveModel('powerful');
    expect(powerful.via).toBe('tier');
    expect(powerful.models.map((m) => m.name)).toEqual(['gpt-test', 'llama3.1:70b']);

    const models = (await api.get('/api/v1/admin/models', asAdmin())).body;
    const small = models.find((m: any) => m.name === 'llama3.2:3b');
    await api.patch(`/api/v1/admin/models/${small.id}`, { enabled: false }, asAdmin());
    await expect(registry.resolveModel('llama3.2')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(registry.resolveModel('fast')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(registry.resolveModel('nope')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect((await api.get('/api/v1/models', { token: member.accessToken })).body.map((m: any) => m.name)).not.toContain('llama3.2:3b');

    // Configurable defaults: an admin moves the fast tier to another model.
    const qwen = models.find((m: any) => m.name === 'qwen2.5:7b');
    await api.patch(`/api/v1/admin/models/${qwen.id}`, { tier: 'fast' }, asAdmin());
    expect((await registry.resolveModel('fast')).models.map((m) => m.name)).toEqual(['qwen2.5:7b']);
  });

  it('deletes models and upstreams; unknown ids give 404', async () => {
    const models = (await api.get('/api/v1/admin/models', asAdmin())).body;
    const gpt = models.find((m: any) => m.name === 'gpt-test');
    expect((await api.delete(`/api/v1/admin/models/${gpt.id}`, asAdmin())).status).toBe(204);
    expect((await api.get(`/api/v1/admin/models/${gpt.id}`, asAdmin())).status).toBe(404);
    const upstream = (await api.get('/api/v1/admin/upstreams', asAdmin())).body[0];
    expect((await api.delete(`/api/v1/admin/upstreams/${upstream.id}`, asAdmin())).status).toBe(204);
    expect((await api.delete(`/api/v1/admin/upstreams/${upstream.id}`, asAdmin())).status).toBe(404);
  });

  it('refuses writes with an admin API key (session only)', async () => {
    const key = (await api.post('/api/v1/api-keys', { name: 'k' }, asAdmin())).body.key;
    const response = await api.post(
      '/api/v1/admin/upstreams',
      { name: 'by-key', kind: 'openai-compatible', baseUrl: 'http://10.0.0.1/v1' },
      { apiKey: key },
    );
    expect(response.status).toBe(403);
  });
});
