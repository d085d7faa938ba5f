// Redis as a distributed store on loopback: a Sentinel set (one master, one replica, three sentinels,
// `redis-server --sentinel`) and a three-master Cluster (`redis-cli --cluster create`), each process
// on ports from the OS and stopped in the caller's teardown.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, type Peer } from './peers.js';
import { freePort, portOpen, runOk, startDaemon, waitFor, type Daemon } from './process.js';

export interface SentinelSet {
  readonly master: Peer;
  readonly replica: Peer;
  readonly sentinels: readonly { port: number; daemon: Daemon }[];
  readonly name: string;
  /** `host:port` of every sentinel, as trustgate's configuration lists them. */
  readonly addresses: readonly string[];
  /** The port of the master the sentinels currently name. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

async function until(what: string, probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function ask<T>(port: number, fn: (c: Redis) => Promise<T>, password?: string): Promise<T> {
  const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, lazyConnect: true, ...(password ? { password } : {}) });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/** A master with `password`, a replica of it, and three sentinels (quorum 2, down after 1 s). */
export async function startSentinelSet(dir: string, password: string, name = 'trust'): Promise<SentinelSet> {
  const auth = ['--requirepass', password, '--masterauth', password];
  const master = await startRedis(dir, { args: auth });
  const replica = await startRedis(dir, { args: [...auth, '--replicaof', '127.0.0.1', String(master.port)] });
  await until('the replica is in sync', async () => (await ask(master.port, (c) => c.info('replication'), password)).includes('state=online'));
  const sentinels: { port: number; daemon: Daemon }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel auth-pass ${name} ${password}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const daemon = startDaemon('redis-sentinel', 'redis-server', [conf, '--sentinel'], join(dir, `sentinel-${port}.log`));
    await waitFor('sentinel', () => portOpen(port), 20_000, daemon);
    sentinels.push({ port, daemon });
  }
  for (const s of sentinels) {
    await until('every sentinel knows the replica and the other sentinels', async () => {
      const replicas = (await ask(s.port, (c) => c.call('SENTINEL', 'REPLICAS', name))) as unknown[];
      const peers = (await ask(s.port, (c) => c.call('SENTINEL', 'SENTINELS', name))) as unknown[];
      return replicas.length === 1 && peers.length === 2;
    });
  }
  const first = sentinels[0] as { port: number };
  return {
    master,
    replica,
    sentinels,
    name,
    addresses: sentinels.map((s) => `127.0.0.1:${s.port}`),
    masterPort: async () => Number(((await ask(first.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as string[])[1]),
    stop: async () => {
      for (const s of sentinels) await s.daemon.stop();
      await replica.stop();
      await master.stop();
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly Peer[];
  /** `host:port` of every master, as trustgate's configuration lists them. */
  readonly addresses: readonly string[];
  stop(): Promise<void>;
}

/** Three masters (no replicas), every slot assigned, cluster state ok. */
export async function startCluster(dir: string): Promise<RedisCluster> {
  const nodes: Peer[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const bus = await freePort();
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-port', String(bus), '--cluster-node-timeout', '2000'];
    nodes.push(await startRedis(dir, { port, args }));
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await runOk('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], { timeoutMs: 60_000 });
  for (const n of nodes) await until('the cluster state is ok', async () => (await ask(n.port, (c) => c.cluster('INFO'))).includes('cluster_state:ok'));
  return {
    nodes,
    addresses,
    stop: async () => {
      for (const n of nodes) await n.stop();
    },
  };
}

/**
 * A pull from a replica whose store should answer. A replica that has just started or reconnected
 * refuses with STORE_UNAVAILABLE until its store connection is ready (a Cluster client discovers the
 * slots first): that refusal is the behaviour under test elsewhere and correct here too, so it is
 * asked again, at most 10 s; any other answer is returned as it is.
 */
export async function settled<T extends { reason?: string | undefined }>(pull: () => Promise<T>): Promise<T> {
  let p = await pull();
  for (let i = 0; i < 50 && p.reason === 'STORE_UNAVAILABLE'; i++) p = (await new Promise((r) => setTimeout(r, 200)), await pull());
  return p;
}
