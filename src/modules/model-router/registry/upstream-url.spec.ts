import { describe, expect, it } from 'vitest';
import { checkUpstreamUrl, isBlockedAddress } from 'src/modules/model-router/registry/upstream-url';

const noDns = () => Promise.resolve([]);

describe('checkUpstreamUrl', () => {
  it('accepts http(s) upstreams on public, private and loopback addresses', async () => {
    for (const url of [
      'https://api.openai.com/v1',
      'http://10.0.0.5:8000/v1',
      'http://127.0.0.1:1234/v1',
      'http://[::1]:8000/v1',
      'http://vllm.internal/v1',
    ]) {
      expect(await checkUpstreamUrl(url, noDns), url).toBeNull();
    }
  });

  it('refuses other schemes, credentials, queries and garbage', async () => {
    expect(await checkUpstreamUrl('file:///etc/passwd', noDns)).toMatch(/http or https/);
    expect(await checkUpstreamUrl('gopher://x', noDns)).toMatch(/http or https/);
    expect(await checkUpstreamUrl('http://user:pw@host/v1', noDns)).toMatch(/credentials/);
    expect(await checkUpstreamUrl('http://host/v1?x=1', noDns)).toMatch(/query/);
    expect(await checkUpstreamUrl('not a url', noDns)).toMatch(/absolute/);
  });

  it('refuses metadata and link-local addresses in every spelling', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://169.254.1.1:8000/v1',
      'http://[fe80::1]/v1',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://0.0.0.0:8000/v1',
      'http://0x7f.0xfe.0xa9.0xfe/', // WHATWG parses to 127.254.169.254: loopback, allowed
      'http://2852039166/', // decimal form of 169.254.169.254
      'http://metadata.google.internal/computeMetadata/v1',
      'http://METADATA.GOOGLE.INTERNAL./',
    ]) {
      const reason = await checkUpstreamUrl(url, noDns);
      if (url.startsWith('http://0x7f')) expect(reason, url).toBeNull();
      else expect(reason, url).not.toBeNull();
    }
  });

  it('refuses names that resolve to link-local addresses', async () => {
    expect(await checkUpstreamUrl('http://sneaky.example/v1', () => Promise.resolve(['10.0.0.1', '169.254.169.254']))).toMatch(/resolves/);
    expect(await checkUpstreamUrl('http://fine.example/v1', () => Promise.resolve(['10.0.0.1']))).toBeNull();
    expect(await checkUpstreamUrl('http://unknown.example/v1', () => Promise.reject(new Error('ENOTFOUND')))).toBeNull();
  });

  it('classifies addresses', () => {
    expect(isBlockedAddress('169.254.169.254')).toBe(true);
    expect(isBlockedAddress('8.8.8.8')).toBe(false);
    expect(isBlockedAddress('::ffff:169.254.0.1')).toBe(true);
    expect(isBlockedAddress('not-an-ip')).toBe(false);
  });
});
