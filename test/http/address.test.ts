// The address classifier as a unit: nothing here connects anywhere.

import t from 'tap';
import { classifyAddress, isPublicAddress, type AddressRange } from '../../src/http/address.js';

const table: [string, AddressRange][] = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['93.184.216.34', 'public'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'reserved'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'shared'],
  ['100.100.100.200', 'shared'],
  ['100.127.255.255', 'shared'],
  ['100.128.0.1', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.169.254', 'metadata'],
  ['169.254.0.1', 'link-local'],
  ['169.254.170.2', 'link-local'],
  ['172.15.255.255', 'public'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  // IPv6
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:82a::200e', 'public'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
  ['fd00::1', 'unique-local'],
  ['fc00::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['2001::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['100::1', 'reserved'],
  ['64:ff9b:1::1', 'private'],
  ['4000::1', 'reserved'],
  // IPv4 inside IPv6
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['[::ffff:7f00:1]', 'loopback'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:8.8.8.8', 'public'],
  ['::127.0.0.1', 'loopback'],
  ['::a00:1', 'private'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  ['64:ff9b::808:808', 'public'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a9fe:a9fe::', 'metadata'],
  ['2002:808:808::1', 'public'],
];

t.test('every range, and IPv4 written inside IPv6', async (t) => {
  for (const [address, range] of table) t.equal(classifyAddress(address), range, address);
});

t.test('only public addresses are public; names are not addresses', async (t) => {
  t.ok(isPublicAddress('8.8.8.8'));
  t.ok(isPublicAddress('2606:4700:4700::1111'));
  for (const notPublic of ['127.0.0.1', '::ffff:127.0.0.1', '169.254.169.254', 'fd00:ec2::254', '10.1.2.3', '::', 'localhost', 'example.com', '', '1.2.3', '::ffff:1.2.3.4.5', '[::1', '999.1.1.1']) {
    t.notOk(isPublicAddress(notPublic), notPublic);
  }
  t.equal(classifyAddress('example.com'), undefined);
  t.equal(classifyAddress('0x7f.1'), undefined, 'only canonical literals: URL parsing normalises the rest first');
});

t.test('addresses in WHATWG-normalised URLs', async (t) => {
  for (const [url, range] of [
    ['http://0x7f.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[0:0:0:0:0:ffff:7f00:1]:5000/', 'loopback'],
  ] as const) {
    t.equal(classifyAddress(new URL(url).hostname), range, url);
  }
});
