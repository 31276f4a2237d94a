import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Checks an admin-supplied upstream URL. Admins are trusted to point at private networks
 * (vLLM on the LAN, LM Studio on localhost), but never at link-local addresses, where cloud
 * metadata services (169.254.169.254, fd00:ec2::254) hand out credentials: defence in depth
 * against a compromised admin session or a pasted URL.
 */

const BLOCKED = new BlockList();
BLOCKED.addSubnet('169.254.0.0', 16, 'ipv4');
BLOCKED.addSubnet('0.0.0.0', 8, 'ipv4');
BLOCKED.addSubnet('fe80::', 10, 'ipv6');
BLOCKED.addAddress('fd00:ec2::254', 'ipv6');
BLOCKED.addAddress('::', 'ipv6');

const BLOCKED_HOSTNAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

export function isBlockedAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) return BLOCKED.check(address, 'ipv4');
  if (version !== 6) return false;
  // IPv4-mapped IPv6 (::ffff:169.254.169.254) reaches the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** Returns a reason the URL is refused, or null when it is acceptable. */
export async function checkUpstreamUrl(value: string, resolve: (host: string) => Promise<string[]> = resolveAll): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'baseUrl must be an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'baseUrl must use http or https';
  if (url.username || url.password) return 'baseUrl must not contain credentials; set apiKey instead';
  if (url.search || url.hash) return 'baseUrl must not contain a query or fragment';
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (BLOCKED_HOSTNAMES.has(host)) return 'baseUrl points at a cloud metadata service';
  if (isIP(host)) return isBlockedAddress(host) ? 'baseUrl points at a link-local or unspecified address' : null;
  // A name can be re-pointed later (DNS rebinding): this catches mistakes at configuration time, not that.
  const addresses = await resolve(host).catch(() => []);
  if (addresses.some(isBlockedAddress)) return 'baseUrl resolves to a link-local or unspecified address';
  return null;
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
}
