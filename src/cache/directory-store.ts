// Trust data in a directory (`trust.bundles`): what `trustgate trust import` writes when no Redis is
// configured, and what `serve` reads, file by file, on every refresh — so an import takes effect at
// the next refresh (or at once on SIGHUP). Same contract as the other stores: verified bytes only,
// version floors that only go up, atomic replacement of each file.
//
//   <dir>/<GUN>/<role>.json      e.g. docker.io/library/alpine/targets/releases.json
//   <dir>/<GUN>/versions.json    {"timestamp": 412, ...}

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { isValidGun } from '../notary/remote.js';
import type { TrustStore } from './trust-store.js';

const ROLE = /^(?:\d{1,10}\.)?(?:root|timestamp|snapshot|targets(?:\/[-a-z0-9_]+)*)$/;

export class DirectoryTrustStore implements TrustStore {
  constructor(readonly dir: string) {}

  private path(gun: string, file: string): string {
    if (!isValidGun(gun)) throw new ConfigError(`invalid repository name ${JSON.stringify(gun)}`);
    return join(this.dir, gun, file);
  }

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    if (!ROLE.test(role)) return undefined;
    return readFile(this.path(gun, `${role}.json`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    if (!ROLE.test(role)) throw new ConfigError(`invalid role ${JSON.stringify(role)}`);
    const versions = await this.getVersions(gun);
    const floor = versions.get(role) ?? 0;
    if (version < floor) return; // never replace newer trust data with older
    if (version === floor && (await this.getMetadata(gun, role))?.equals(bytes)) return; // refreshes re-store what they read
    await atomicWrite(this.path(gun, `${role}.json`), bytes);
    versions.set(role, version);
    await atomicWrite(this.path(gun, 'versions.json'), Buffer.from(JSON.stringify(Object.fromEntries(versions))));
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    const text = await readFile(this.path(gun, 'versions.json'), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '{}';
      throw err;
    });
    const doc = JSON.parse(text) as Record<string, unknown>;
    return new Map(Object.entries(doc).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }

  async close(): Promise<void> {}
}

async function atomicWrite(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
