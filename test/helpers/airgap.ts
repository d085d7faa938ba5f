// Air-gap tests: simulated Notary repositories served over HTTP, bundles exported from them, offline
// sites (a configuration with `notary: offline` and a `trust.bundles` directory), an image registry.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { importBundle, type ImportResult } from '../../src/bundle/airgap.js';
import { openBundle } from '../../src/bundle/bundle.js';
import { listTar, readTarFile } from '../../src/bundle/tar.js';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { runExport, type ExportOptions } from '../../src/commands/trust.js';
import { loadConfig } from '../../src/config/config.js';
import { DirectoryTagRecords } from '../../src/sigstore/tag-history-dir.js';
import { runOk } from './process.js';
import { SKOPEO_SIGSTORE } from './sigstore.js';
import { RepoSimulator, SimKey, sha256Hex } from './simulator.js';

/** A command's output lines, kept; `onErr` sees each error line as it is written. */
export function capture(onErr?: (line: string) => void) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (l: string) => void out.push(l),
    err: (l: string) => {
      err.push(l);
      onErr?.(l);
    },
  };
  return { io, out, err, text: () => [...out, ...err].join('\n') };
}

/** A fresh path under `base`, never used before in this run. */
export function freshPaths(base: string): (name: string) => string {
  let n = 0;
  return (name) => join(base, `${name}-${++n}`);
}

export interface SiteOptions {
  policy?: unknown[];
  upstream?: string;
  maxStaleness?: string;
  tofu?: boolean;
  /** Use this trust.bundles directory instead of a new one. */
  store?: string;
}

/** A configuration as an offline site writes it; returns its path and its bundle directory. */
export function offlineSite(base: string, opts: SiteOptions = {}): { path: string; store: string } {
  mkdirSync(base, { recursive: true });
  const store = opts.store ?? join(base, 'trust');
  const doc = {
    upstreams: [{ name: opts.upstream ?? 'docker.io', registry: 'http://127.0.0.1:9', notary: 'offline', default: true, ...(opts.maxStaleness ? { offline: { maxStaleness: opts.maxStaleness } } : {}) }],
    trust: { bundles: store, ...(opts.tofu === false ? { tofu: false } : {}) },
    ...(opts.policy ? { policy: opts.policy } : {}),
  };
  const path = join(base, 'trustgate.yaml');
  writeFileSync(path, stringify(doc));
  return { path, store };
}

/** Every file under a directory with its bytes' hash, to show an import wrote nothing. */
export function snapshotDir(d: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(d)) return out;
  for (const e of readdirSync(d, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(join(e.parentPath, e.name), sha256Hex(readFileSync(join(e.parentPath, e.name))));
  }
  return out;
}

/** A repository with a `targets/releases` delegation, tags v1 (targets) and v2 (releases). */
export function simulatedRepo(gun: string): RepoSimulator {
  const sim = new RepoSimulator(gun);
  sim.addDelegation('targets/releases');
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

/** One Notary URL serving several simulated repositories, each under its own GUN. */
export async function serveRepos(t: Test, sims: readonly RepoSimulator[]): Promise<string> {
  const server = createServer((req, res) => {
    const m = /^\/v2\/(.+)\/_trust\/tuf\/(.+)\.json$/.exec(req.url ?? '');
    const sim = sims.find((s) => s.gun === m?.[1]);
    const b = m && sim ? sim.files.get(m[2] as string) : undefined;
    if (!b) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function simulated(t: Test, gun: string): Promise<{ sim: RepoSimulator; url: string }> {
  const sim = simulatedRepo(gun);
  return { sim, url: await serveRepos(t, [sim]) };
}

export function rotateRoot(sim: RepoSimulator): void {
  const old = sim.keys.root[0] as SimKey;
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  sim.rootCosigners = [old];
  sim.publishRoot();
  sim.publish();
}

export async function exportOk(refs: string[], opts: ExportOptions): Promise<string> {
  const c = capture();
  const code = await runExport(refs, opts, c.io);
  if (code !== 0) throw new Error(`export failed: ${c.text()}`);
  return opts.out;
}

/**
 * A registry serving one image (a config and a layer blob) by digest under any repository name;
 * `corrupt` swaps the last byte of what it serves for those digests.
 */
export async function imageRegistry(t: Test) {
  const blob = (s: string) => ({ bytes: Buffer.from(s), digest: `sha256:${sha256Hex(Buffer.from(s))}` });
  const config = blob('{"architecture":"amd64","os":"linux"}');
  const layer = blob('layer bytes '.repeat(1000));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config.digest, size: config.bytes.length },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer.digest, size: layer.bytes.length }],
    }),
  );
  const manifestDigest = `sha256:${sha256Hex(manifest)}`;
  const corrupt = new Set<string>();
  const server = createServer((req, res) => {
    const m = /^\/v2\/[a-z0-9/._-]+\/(manifests|blobs)\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    const body = m?.[2] === manifestDigest ? manifest : m?.[2] === config.digest ? config.bytes : m?.[2] === layer.digest ? layer.bytes : undefined;
    if (!m || !body) return void res.writeHead(404).end();
    const out = corrupt.has(m[2] as string) ? Buffer.from(body.toString('latin1').replace(/.$/, 'X'), 'latin1') : body;
    const type = m[1] === 'manifests' ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': String(out.length) }).end(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, manifest, manifestDigest, config, layer, corrupt };
}

/** Assert that `p` rejects with an instance of `cls` (subclasses included) carrying `code`. */
export async function rejectsWith(t: Test, p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, code: string, what?: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof cls, `${what ?? 'rejects'}: ${cls.name} (got ${err instanceof Error ? err.name : String(err)})`);
  t.equal((err as { code?: unknown } | undefined)?.code, code, `${what ?? 'rejects'}: code ${code}`);
}

/** `p`, or a rejection after `ms`: a guard so a test whose event never comes fails instead of hanging. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/**
 * An unpacked bundle's images and signature artifacts of `gun` into `host/repository`, as the README
 * says: every directory under _tags/, then under _sigs/, copied under its own name as the tag. The
 * referrers index (`sha256-<hex>`) is an OCI 1.1 index: Debian 12's skopeo 1.9 drops its
 * `artifactType` (and so refuses with --preserve-digests); Debian 13's skopeo 1.18 copies it.
 */
export async function copyBundleImages(imagesDir: string, gun: string, host: string, repository: string): Promise<string[]> {
  const copied: string[] = [];
  for (const kind of ['_tags', '_sigs']) {
    const base = join(imagesDir, gun, kind);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const skopeo = /^sha256-[0-9a-f]{64}$/.test(name) ? SKOPEO_SIGSTORE : 'skopeo';
      const args = ['copy', '-q', '--all', '--preserve-digests', '--dest-tls-verify=false', `dir:${join(base, name)}`, `docker://${host}/${repository}:${name}`];
      await runOk(skopeo, args, { timeoutMs: 180_000 });
      copied.push(`${kind}/${name}`);
    }
  }
  return copied;
}

/** Every member of a tar bundle written out as a directory bundle, for a carrier to alter. */
export async function unpackBundle(tar: string, out: string): Promise<string> {
  for (const f of await listTar(tar)) {
    if (f.type !== 'file') continue;
    mkdirSync(join(out, f.name, '..'), { recursive: true });
    writeFileSync(join(out, f.name), await readTarFile(tar, f));
  }
  return out;
}

/** bundle.json of a directory bundle, changed by `edit` (a carrier who rewrites the index too). */
export function editBundleIndex(dirBundle: string, edit: (index: { files: Record<string, unknown>; images?: unknown[] }) => void): void {
  const path = join(dirBundle, 'bundle.json');
  const index = JSON.parse(readFileSync(path, 'utf8')) as { files: Record<string, unknown>; images?: unknown[] };
  edit(index);
  writeFileSync(path, JSON.stringify(index, null, 2));
}

/** A bundle file's checksum entry in bundle.json, made to match `bytes`. */
export function checksumOf(bytes: Buffer): { sha256: string; size: number } {
  return { sha256: sha256Hex(bytes), size: bytes.length };
}

/**
 * `trust import` into a `trust.bundles` site as the command runs it (its store, its tag records), in
 * process: each refusal keeps its error class.
 */
export async function importInto(source: string, configPath: string): Promise<ImportResult> {
  const config = await loadConfig(configPath);
  const dir = config.trust.bundlesDir;
  if (dir === undefined) throw new Error(`${configPath} has no trust.bundles`);
  const store = new DirectoryTrustStore(dir);
  await store.check();
  return importBundle(await openBundle(source), { config, store, tags: new DirectoryTagRecords(dir, (fn) => store.exclusive(fn)) });
}

/** The import refused exactly `expected` (name, error class, code), and nothing else. */
export function refusedWith(t: Test, r: ImportResult, expected: readonly (readonly [string, abstract new (...args: never[]) => Error, string])[]): void {
  t.same(r.refused.map((x) => x.gun).sort(), expected.map(([name]) => name).sort(), 'refused exactly these');
  for (const [name, cls, code] of expected) {
    const err = r.refused.find((x) => x.gun === name)?.error;
    t.ok(err instanceof cls, `${name}: ${cls.name}`);
    t.equal(err?.code, code, `${name}: ${code}`);
  }
}
