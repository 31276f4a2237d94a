import { BlockList, isIP } from 'node:net';

/**
 * Addresses a server-side fetch of a user-supplied URL must never reach: this host, the
 * private networks around it and the cloud metadata service (AnythingLLM SSRF,
 * CVE-2024-0455 and CVE-2024-3149). Node's BlockList also matches IPv4-mapped IPv6 forms
 * (::ffff:127.0.0.1, ::ffff:7f00:1) against the IPv4 rules.
 */
const NON_PUBLIC = new BlockList();
const IPV4_RANGES: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
];
const IPV6_RANGES: [string, number, string][] = [
  // Unspecified (::), loopback (::1) and the deprecated IPv4-compatible forms (::127.0.0.1).
  ['::', 96, 'unspecified, loopback or IPv4-compatible'],
  ['64:ff9b:1::', 48, 'local NAT64'],
  ['2002::', 16, '6to4'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];
for (const [network, prefix] of IPV4_RANGES) NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of IPV6_RANGES) NON_PUBLIC.addSubnet(network, prefix, 'ipv6');

/**
 * Why `address` (an IP literal) is not a public unicast address, or null when it is. Anything
 * that is not an IP literal is refused too: the caller must resolve names first.
 */
export function nonPublicReason(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const version = isIP(bare);
  if (version === 0) return 'not an IP address';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (!NON_PUBLIC.check(bare, family)) return null;
  // Said once per refusal, so a linear scan for the reason costs nothing.
  for (const [network, prefix, kind] of version === 4 ? IPV4_RANGES : IPV6_RANGES) {
    const single = new BlockList();
    single.addSubnet(network, prefix, family);
    if (single.check(bare, family)) return kind;
  }
  // Matched through the IPv4-mapped form of an IPv4 range.
  for (const [network, prefix, kind] of IPV4_RANGES) {
    const single = new BlockList();
    single.addSubnet(network, prefix, 'ipv4');
    if (single.check(bare, 'ipv6')) return `${kind} (IPv4-mapped)`;
  }
  return 'not public';
}

export const isPublicAddress = (address: string): boolean => nonPublicReason(address) === null;
