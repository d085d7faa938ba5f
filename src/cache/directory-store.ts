// Trust data in a directory (`trust.bundles`): what `trustgate trust import` writes when no Redis is
// configured, and what `serve` reads, file by file, on every refresh — so an import takes effect at
// the next refresh (or at once on SIGHUP). Same contract as the other stores: verified bytes only,
// version floors that only go up, atomic replacement of each file.
//
//   <dir>/<GUN>/_tuf/<role>.json      e.g. docker.io/library/alpine/_tuf/targets/releases.json
//   <dir>/<GUN>/_tuf/versions.json    {"timestamp": 412, ...}
//
// `_tuf` keeps a repository's files apart from nested repositories' (no repository name component
// starts with `_`, and no role is named `versions`).

import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { isValidGun } from '../registry/reference.js';
import { STORED_ROLE_NAME } from '../trust/metadata.js';
import type { TrustStore } from './trust-store.js';

const MAX_FILE = 64 << 20;

export class DirectoryTrustStore implements TrustStore {
  constructor(readonly dir: string) {}

  private path(gun: string, file: string): string {
    if (!isValidGun(gun)) throw new ConfigError(`invalid repository name ${JSON.stringify(gun)}`);
    return join(this.dir, gun, '_tuf', file);
  }

  async getMetadata(gun: string, role: string): Promise<Buffer | undefined> {
    if (!STORED_ROLE_NAME.test(role)) return undefined;
    const path = this.path(gun, `${role}.json`);
    const s = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!s?.isFile()) return undefined;
    if (s.size > MAX_FILE) throw new ConfigError(`${path} is larger than ${MAX_FILE} bytes: not trust metadata`);
    return readFile(path);
  }

  async putMetadata(gun: string, role: string, bytes: Buffer, version: number): Promise<void> {
    if (!STORED_ROLE_NAME.test(role)) throw new ConfigError(`invalid role ${JSON.stringify(role)}`);
    const versions = await this.getVersions(gun);
    const floor = versions.get(role) ?? 0;
    if (version < floor) return; // never replace newer trust data with older
    if (version === floor && (await this.getMetadata(gun, role))?.equals(bytes)) return; // refreshes re-store what they read
    await atomicWrite(this.path(gun, `${role}.json`), bytes);
    versions.set(role, version);
    await atomicWrite(this.path(gun, 'versions.json'), Buffer.from(JSON.stringify(Object.fromEntries(versions))));
  }

  async getVersions(gun: string): Promise<Map<string, number>> {
    const path = this.path(gun, 'versions.json');
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return '{}';
      throw err;
    });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (cause) {
      // the rollback floors are unreadable: refuse rather than start over from zero
      throw new ConfigError(`${path} is damaged (not JSON): restore it or re-import the trust data`, { cause });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`${path} is damaged (not a mapping)`);
    return new Map(Object.entries(doc).filter((e): e is [string, number] => Number.isSafeInteger(e[1])));
  }

  async close(): Promise<void> {}
}

async function atomicWrite(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
