// Generated repositories for the scale benchmark: each one signed as Docker Content Trust signs (its
// own root certificate, targets, snapshot and timestamp keys; a `targets/releases` delegation whose
// key one CI signer shares across repositories) with TAGS tags, each signing a manifest of its own.
// Signed with the project's repository simulator (test/helpers/simulator.ts), laid out as a Notary
// server and a registry serve them, and written as a shard: one data file of all bytes and an index
// (path → offset, length, content type) that bench/static-api.mjs serves.
//
// Run as a child process to use another core: scale-data.ts <first> <count> <shard path>

import { createHash } from 'node:crypto';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { RepoSimulator, SimKey } from '../test/helpers/simulator.js';

export const TAGS = 10;
export const UPSTREAM = 'docker.io';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The trust files a Notary client fetches: the root by name, the rest by consistent (hashed) name. */
const FETCHED = ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases'];

export const repositoryName = (i: number) => `scale/r${String(i).padStart(5, '0')}`;
export const tagName = (k: number) => `t${k}`;

/** A small OCI image manifest, distinct for every repository and tag. */
export function manifestFor(i: number, k: number): Buffer {
  const blob = (what: string) => `sha256:${createHash('sha256').update(`${what} ${i} ${k}`).digest('hex')}`;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blob('config'), size: 1469 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob('layer'), size: 3_622_892 }],
    }),
  );
}

export interface ShardEntry {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly type: string;
  /** For manifests: the digest the registry states. */
  readonly digest?: string;
}

/** Sign repositories [first, first + count) and write them as one shard. */
export function writeShard(first: number, count: number, shard: string): void {
  const releasesKey = SimKey.generate('ecdsa-x509', { cn: 'targets/releases' });
  const fd = openSync(`${shard}.data`, 'w');
  const index: ShardEntry[] = [];
  let offset = 0;
  const add = (path: string, bytes: Buffer, type: string, digest?: string) => {
    writeSync(fd, bytes);
    index.push({ path, offset, length: bytes.length, type, ...(digest ? { digest } : {}) });
    offset += bytes.length;
  };
  try {
    for (let i = first; i < first + count; i++) {
      const repository = repositoryName(i);
      const sim = new RepoSimulator(`${UPSTREAM}/${repository}`);
      sim.addDelegation('targets/releases', { keys: [releasesKey] });
      for (let k = 0; k < TAGS; k++) {
        const manifest = manifestFor(i, k);
        const digest = sim.addTarget('targets/releases', tagName(k), manifest);
        add(`/v2/${repository}/manifests/${digest}`, manifest, MANIFEST_TYPE, digest);
      }
      sim.publish();
      for (const role of FETCHED) {
        const bytes = sim.files.get(role) as Buffer;
        const name = role === 'root' || role === 'timestamp' ? role : `${role}.${createHash('sha256').update(bytes).digest('hex')}`;
        add(`/v2/${UPSTREAM}/${repository}/_trust/tuf/${name}.json`, bytes, 'application/json');
      }
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(`${shard}.json`, JSON.stringify(index));
}

if (process.argv[1] === import.meta.filename) {
  const [first, count, shard] = process.argv.slice(2);
  writeShard(Number(first), Number(count), shard as string);
}
