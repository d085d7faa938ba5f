// A private Docker 20.10 daemon (Debian docker.io) using trustgate as its registry mirror: own socket,
// data and exec roots, vfs storage, no networking set-up, and a private mount namespace whose
// /etc/resolv.conf points at nothing — so its fall-back to Docker Hub fails fast on loopback.

import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, startDaemon, waitFor, type Daemon, type RunResult } from './process.js';

export const DOCKER_CLI = '/usr/bin/docker';

export interface Dockerd {
  readonly socket: string;
  docker(...args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
  readonly daemon: Daemon;
}

/** `mirror` is the registry mirror (and an insecure registry); `insecure` lists more plain-HTTP registries. */
export async function startDockerd(dir: string, mirror: string, insecure: string[] = []): Promise<Dockerd> {
  const root = join(dir, 'docker');
  const exec = join(dir, 'exec');
  mkdirSync(root, { recursive: true });
  mkdirSync(exec, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const mirrorHost = new URL(mirror).host;
  const cfg = join(dir, 'daemon.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      'data-root': root,
      'exec-root': exec,
      pidfile: join(dir, 'dockerd.pid'),
      hosts: [`unix://${socket}`],
      'storage-driver': 'vfs',
      iptables: false,
      ip6tables: false,
      'ip-forward': false,
      'ip-masq': false,
      bridge: 'none',
      'insecure-registries': [mirrorHost, ...insecure],
      'registry-mirrors': [mirror],
      'max-download-attempts': 1,
    }),
  );
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n');
  writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  const daemon = startDaemon(
    'dockerd',
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount --bind '${join(dir, 'resolv.conf')}' /etc/resolv.conf && mount --bind '${join(dir, 'hosts')}' /etc/hosts && exec dockerd --config-file '${cfg}'`,
    ],
    join(dir, 'dockerd.log'),
  );
  const docker = (...args: string[]) => run(DOCKER_CLI, ['-H', `unix://${socket}`, ...args], { timeoutMs: 180_000 });
  try {
    await waitFor('dockerd', async () => (await docker('version', '--format', '{{.Server.Version}}')).code === 0, 60_000, daemon);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return {
    socket,
    daemon,
    docker,
    stop: async () => {
      await daemon.stop(20_000);
      // vfs layers may be read-only directories
      makeWritable(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function makeWritable(path: string): void {
  try {
    chmodSync(path, 0o755);
    for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) makeWritable(join(path, e.name));
  } catch {
    // best effort: whatever cannot be changed is removed by rmSync's force where possible
  }
}
