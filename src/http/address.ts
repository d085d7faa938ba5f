// Which range an IP address belongs to, so that a redirect cannot aim trustgate (or, in redirect mode,
// its clients) at the network behind it: loopback, private, link-local, cloud metadata, carrier-grade
// NAT, unique-local, multicast and the other special-purpose ranges (IANA IPv4 and IPv6
// Special-Purpose Address Registries, RFC 6890), IPv4 written inside IPv6 included (mapped,
// compatible, NAT64, 6to4). Only `public` addresses are reachable without the operator's say-so.

import { isIPv4, isIPv6 } from 'node:net';

export type AddressRange =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared' // carrier-grade NAT, 100.64.0.0/10
  | 'link-local'
  | 'metadata' // cloud instance metadata: 169.254.169.254, fd00:ec2::254
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

type Rule = readonly [prefix: bigint, bits: number, range: AddressRange];

const v4 = (a: string): bigint => a.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);

// most specific first: the first rule whose prefix matches decides
const IPV4_RULES: readonly Rule[] = [
  [v4('169.254.169.254'), 32, 'metadata'],
  [v4('255.255.255.255'), 32, 'broadcast'],
  [v4('0.0.0.0'), 32, 'unspecified'],
  [v4('0.0.0.0'), 8, 'reserved'], // "this network"
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'shared'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'], // IETF protocol assignments
  [v4('192.0.2.0'), 24, 'documentation'],
  [v4('192.88.99.0'), 24, 'reserved'], // former 6to4 relay anycast
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'benchmarking'],
  [v4('198.51.100.0'), 24, 'documentation'],
  [v4('203.0.113.0'), 24, 'documentation'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

const v6 = (a: string): bigint => ipv6ToBigInt(a) as bigint;

const IPV6_RULES: readonly Rule[] = [
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('fd00:ec2::254'), 128, 'metadata'],
  [v6('64:ff9b:1::'), 48, 'private'], // local-use NAT64
  [v6('100::'), 64, 'reserved'], // discard-only
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('2001:10::'), 28, 'reserved'], // ORCHID
  [v6('2001:20::'), 28, 'reserved'], // ORCHIDv2
  [v6('2001::'), 32, 'reserved'], // Teredo: a tunnel to an IPv4 address it hides
  [v6('2001::'), 23, 'reserved'], // IETF protocol assignments
  [v6('fc00::'), 7, 'unique-local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'site-local'],
  [v6('ff00::'), 8, 'multicast'],
];

/** The range of an IP literal (IPv4, or IPv6 with or without brackets and zone); undefined for a name. */
export function classifyAddress(address: string): AddressRange | undefined {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(a)) return match(v4(a), 32, IPV4_RULES) ?? 'public';
  const n = ipv6ToBigInt(a);
  return n === undefined ? undefined : classifyIpv6(n);
}

/** True only for addresses in no special-purpose range (names are not addresses: false). */
export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}

function classifyIpv6(n: bigint): AddressRange {
  const embedded = embeddedIpv4(n);
  if (embedded !== undefined) return match(embedded, 32, IPV4_RULES) ?? 'public';
  const special = match(n, 128, IPV6_RULES);
  if (special) return special;
  // global unicast is 2000::/3; everything else is unassigned or reserved
  return n >> 125n === 1n ? 'public' : 'reserved';
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d, deprecated; not :: or ::1), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 */
function embeddedIpv4(n: bigint): bigint | undefined {
  const low32 = n & 0xffffffffn;
  if (n >> 32n === 0xffffn) return low32;
  if (n >> 32n === 0n && n > 1n) return low32;
  if (n >> 32n === v6('64:ff9b::') >> 32n) return low32;
  if (n >> 112n === 0x2002n) return (n >> 80n) & 0xffffffffn;
  return undefined;
}

function match(n: bigint, width: number, rules: readonly Rule[]): AddressRange | undefined {
  for (const [prefix, bits, range] of rules) {
    const shift = BigInt(width - bits);
    if (n >> shift === prefix >> shift) return range;
  }
  return undefined;
}

/** The 128-bit value of an IPv6 literal (a zone such as `%eth0` is ignored); undefined if it is none. */
function ipv6ToBigInt(address: string): bigint | undefined {
  const a = address.replace(/%.*$/, '');
  if (!isIPv6(a)) return undefined;
  let text = a;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4(dotted[1] as string);
    text = `${text.slice(0, dotted.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string?];
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const groups = tail === undefined ? parts(head) : [...parts(head), ...Array<string>(8 - parts(head).length - parts(tail).length).fill('0'), ...parts(tail)];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
