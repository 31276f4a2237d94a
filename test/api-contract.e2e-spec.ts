import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_METADATA, AuthMetadata } from 'src/common/auth/auth.decorator';
import { API_PREFIX } from 'src/app';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

const UNPREFIXED = [/^health\//, /^metrics$/, /^v1\//];

function describeAccess(metadata: AuthMetadata | undefined): string {
  if (!metadata) return 'UNDECLARED';
  if (metadata.public) return 'public';
  const parts = [metadata.permission ?? 'any signed-in caller'];
  if (metadata.sessionOnly) parts.push('(no API keys)');
  return parts.join(' ');
}

describe('API contract', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp();
  });
  afterAll(() => testApp?.close());

  /** Who can reach what, in one reviewable file: a change in access shows up in the diff. */
  it('every REST route declares its access, as recorded in the snapshot', async () => {
    const discovery = testApp.app.get(DiscoveryService);
    const scanner = testApp.app.get(MetadataScanner);
    const reflector = testApp.app.get(Reflector);
    const lines: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      const type = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!type || !wrapper.instance) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, type) ?? '');
      for (const name of scanner.getAllMethodNames(Object.getPrototypeOf(wrapper.instance) as object)) {
        const handler = (type.prototype as Record<string, unknown>)[name] as () => unknown;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const joined = [base, path]
          .map((part) => part.replace(/^\/|\/$/g, ''))
          .filter(Boolean)
          .join('/');
        const full = UNPREFIXED.some((pattern) => pattern.test(joined)) ? `/${joined}` : `/${API_PREFIX}/${joined}`;
        const access = describeAccess(reflector.getAllAndOverride<AuthMetadata>(AUTH_METADATA, [handler, type]));
        lines.push(`${method.padEnd(6)} ${full.padEnd(60)} ${access}`);
      }
    }
    lines.sort();
    expect(lines.filter((line) => line.endsWith('UNDECLARED'))).toEqual([]);
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('__snapshots__/endpoint-permissions.txt');
  });

  it('serves Swagger UI at /docs and the committed spec at /docs-json (run `npm run openapi:generate` if this fails)', async () => {
    const api = new ApiClient(testApp.baseUrl);
    const ui = await api.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    const spec = await api.get('/docs-json');
    expect(spec.status).toBe(200);
    const committed = JSON.parse(readFileSync('docs/openapi.json', 'utf8')) as unknown;
    expect(spec.body).toEqual(committed);
  });
});
