// Trust bundles: the complete, verified trust data of repositories, carried across an air gap.
//
//   bundle.json                       index: format, creation time, repositories, and the size and
//                                     SHA-256 of every trust file (checked before anything is parsed)
//   trust/<GUN>/_tuf/root.json        the current root
//   trust/<GUN>/_tuf/<N>.root.json    every root version, 1…N (rotations verify on the far side)
//   trust/<GUN>/_tuf/timestamp.json, snapshot.json, targets.json, targets/<delegation>.json
//
// `_tuf` keeps a repository's files apart from nested repositories' (no repository name component
// starts with `_`): `a/b`'s delegation `targets/root` and the root of repository `a/b/targets` differ.
//
//   images/<GUN>/_tags/<tag>/         with `--images`: each exported tag's image in the containers `dir:`
//                                     layout, for `skopeo copy --all dir:… docker://…` on the far side
//   images/<GUN>/_sigs/<tag>/         its Sigstore signature artifacts, each a `dir:` directory named by
//                                     the tag it goes under (signatures.ts), listed with checksums
//   sigstore/keys/<id>.pub, sigstore/trusted-roots/<sha256>.json
//                                     the keys and trusted roots the connected side verified with
//
// As a single file it is a tar of that layout (tar.ts: members read exactly as GNU tar lists them;
// only regular files are read, and of a name given twice the last, as extraction keeps); as a
// directory, the layout itself. Integrity comes from the signatures inside (`trust import` verifies
// everything again); the checksums catch damage.

import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { DIGEST, isValidGun, TAG } from '../registry/reference.js';
import { isArtifactOf, KEY_PATH, ROOT_PATH, type BundleArtifact } from './signatures.js';
import { listTar, readTarFile, tarEnd, tarEntry, tarHeader, tarPad, type TarFile } from './tar.js';

export const BUNDLE_FORMAT = 'trustgate-trust-bundle/v1';
/** A bundle with Sigstore signatures: a trustgate that cannot verify them refuses it, never ignores them. */
export const BUNDLE_FORMAT_SIGSTORE = 'trustgate-trust-bundle/v2';
const MAX_FILE = 64 << 20;

export interface BundleRepository {
  readonly gun: string;
  readonly rootVersion: number;
}

export interface BundleImage {
  readonly gun: string;
  readonly tag: string;
  readonly digest: string;
  /** Its directory within the bundle (containers `dir:` transport layout). */
  readonly path: string;
  /** Its Sigstore signature artifacts (and its children's), each under images/<GUN>/_sigs/<tag>/. */
  readonly signatures?: readonly BundleArtifact[];
}

/**
 * What a repository's policy rule verified Sigstore signatures with at export: keys and trusted root
 * (bundle files) and identities. For the operator to see; the importing site's configuration decides.
 */
export interface BundleSigstore {
  readonly gun: string;
  readonly keys: readonly string[];
  readonly trustedRoot?: string | undefined;
  readonly identities: readonly { readonly issuer: string; readonly subject?: string | undefined; readonly subjectRegExp?: string | undefined }[];
}

export interface BundleIndex {
  readonly format: string;
  readonly created: string;
  readonly repositories: readonly BundleRepository[];
  readonly images?: readonly BundleImage[];
  readonly sigstore?: readonly BundleSigstore[];
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly size: number }>>;
}

export class BundleError extends ConfigError {}

export function trustPath(gun: string, name: string): string {
  return `trust/${gun}/_tuf/${name}.json`;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A bundle is written as a directory when `out` ends with '/' or is an existing directory. */
export async function isDirectoryBundle(out: string): Promise<boolean> {
  return out.endsWith('/') || (await stat(out).then((s) => s.isDirectory(), () => false));
}

export interface BundleContent {
  readonly repositories: readonly BundleRepository[];
  readonly files: ReadonlyMap<string, Buffer>;
  /** Exported images (informational: they are content-addressed and verified again at every pull). */
  readonly images?: readonly BundleImage[];
  readonly sigstore?: readonly BundleSigstore[];
  /**
   * For a tar bundle: a directory whose `images/` tree goes into the archive (streamed; blobs can be
   * large). A directory bundle has its images written in place.
   */
  readonly stagedImages?: string;
}

/** Write a bundle: a tar file, or a directory (see isDirectoryBundle). */
export async function writeBundle(out: string, content: BundleContent): Promise<'tar' | 'dir'> {
  const { files } = content;
  const signed = (content.sigstore ?? []).length > 0 || (content.images ?? []).some((i) => (i.signatures ?? []).length > 0);
  const index: BundleIndex = {
    format: signed ? BUNDLE_FORMAT_SIGSTORE : BUNDLE_FORMAT,
    created: new Date().toISOString(),
    repositories: content.repositories,
    ...(content.images && content.images.length > 0 ? { images: content.images } : {}),
    ...(signed ? { sigstore: content.sigstore ?? [] } : {}),
    files: Object.fromEntries([...files].map(([p, b]) => [p, { sha256: sha256(b), size: b.length }])),
  };
  const indexBytes = Buffer.from(JSON.stringify(index, null, 2) + '\n');
  if (await isDirectoryBundle(out)) {
    for (const [p, b] of [...files, ['bundle.json', indexBytes] as const]) {
      await mkdir(dirname(join(out, p)), { recursive: true });
      await writeFile(join(out, p), b);
    }
    return 'dir';
  }
  await mkdir(dirname(out), { recursive: true });
  // a fresh name, created exclusively: never another file, nor through a symlink someone left there
  const partial = `${out}.partial-${randomBytes(8).toString('hex')}`;
  const fh = await open(partial, 'wx', 0o644);
  try {
    await fh.write(tarEntry('bundle.json', indexBytes));
    for (const [p, b] of files) await fh.write(tarEntry(p, b));
    if (content.stagedImages) await streamImages(fh, join(content.stagedImages, 'images'));
    await fh.write(tarEnd());
  } catch (err) {
    await fh.close();
    await rm(partial, { force: true });
    throw err;
  }
  await fh.close();
  await rename(partial, out);
  return 'tar';
}

/** Every file under `root` into the archive as images/…, streamed (blobs can be large). */
async function streamImages(fh: FileHandle, root: string): Promise<void> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const paths = entries.filter((x) => x.isFile()).map((e) => join(e.parentPath, e.name));
  for (const path of paths.sort((a, b) => a.localeCompare(b))) {
    const { size } = await stat(path);
    await fh.write(tarHeader(`images/${relative(root, path)}`, size));
    let written = 0;
    for await (const chunk of createReadStream(path)) {
      await fh.write(chunk as Buffer);
      written += (chunk as Buffer).length;
    }
    if (written !== size) throw new BundleError(`${path} changed while it was written into the bundle`);
    await fh.write(tarPad(size));
  }
}

/** A file of a directory bundle: a regular file, never through a symlink at its own name. */
async function readBundleFile(source: string, p: string): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(join(source, p), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new BundleError(`cannot read bundle file ${p}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) return undefined;
    if (s.size > MAX_FILE) throw new BundleError(`bundle file ${p} is too large`);
    const b = await fh.readFile();
    if (b.length > MAX_FILE) throw new BundleError(`bundle file ${p} is too large`);
    return b;
  } finally {
    await fh.close();
  }
}

export interface Bundle {
  readonly index: BundleIndex;
  /** A file the index lists, checked against its size and SHA-256. */
  read(path: string): Promise<Buffer | undefined>;
}

/** Open a bundle (tar or directory) and check the index's shape. File checksums are checked on read. */
export async function openBundle(source: string): Promise<Bundle> {
  const isDir = await stat(source).then(
    (s) => s.isDirectory(),
    (cause: unknown) => {
      throw new BundleError(`cannot read bundle ${source}`, { cause });
    },
  );
  const readRaw = isDir ? (p: string) => readBundleFile(source, p) : await tarReader(source);
  const indexBytes = await readRaw('bundle.json');
  if (!indexBytes) throw new BundleError(`${source} has no bundle.json: not a trust bundle`);
  const index = parseIndex(indexBytes, source);
  return {
    index,
    async read(path) {
      const meta = Object.hasOwn(index.files, path) ? index.files[path] : undefined;
      if (!meta) return undefined;
      const b = await readRaw(path);
      if (!b || b.length !== meta.size || sha256(b) !== meta.sha256) {
        throw new BundleError(`bundle file ${path} does not match its checksum: the bundle is damaged or was altered`);
      }
      return b;
    },
  };
}

/** The regular files of a tar bundle, by name. */
async function tarReader(source: string): Promise<(path: string) => Promise<Buffer | undefined>> {
  let entries: Map<string, TarFile>;
  try {
    entries = new Map((await listTar(source)).filter((f) => f.type === 'file').map((f) => [f.name, f]));
  } catch (cause) {
    throw new BundleError(`${source} is not a readable bundle: ${(cause as Error).message}`, { cause });
  }
  return async (p) => {
    const f = entries.get(p);
    if (!f) return undefined;
    if (f.size > MAX_FILE) throw new BundleError(`bundle file ${p} is too large`);
    return readTarFile(source, f);
  };
}

function parseIndex(bytes: Buffer, source: string): BundleIndex {
  let index: BundleIndex;
  try {
    index = JSON.parse(bytes.toString('utf8')) as BundleIndex;
  } catch (cause) {
    throw new BundleError(`${source}: bundle.json is not JSON`, { cause });
  }
  const formats = [BUNDLE_FORMAT, BUNDLE_FORMAT_SIGSTORE];
  if (typeof index !== 'object' || index === null || !formats.includes(index.format) || !Array.isArray(index.repositories) || typeof index.files !== 'object' || index.files === null) {
    throw new BundleError(`${source}: not a ${BUNDLE_FORMAT} bundle (nor a ${BUNDLE_FORMAT_SIGSTORE} one, with Sigstore signatures)`);
  }
  for (const r of index.repositories as unknown[]) {
    const repo = r as Partial<BundleRepository> | null;
    if (typeof repo?.gun !== 'string' || !isValidGun(repo.gun) || !Number.isSafeInteger(repo.rootVersion) || (repo.rootVersion as number) < 1) {
      throw new BundleError(`${source}: bundle.json lists an invalid repository ${JSON.stringify(r)}`);
    }
  }
  if (index.images !== undefined && !Array.isArray(index.images)) throw new BundleError(`${source}: bundle.json images is not a list`);
  for (const i of index.images ?? []) {
    if (!isSignedImage(i)) throw new BundleError(`${source}: bundle.json lists an invalid image ${JSON.stringify(i)}`);
  }
  if (index.sigstore !== undefined && !(Array.isArray(index.sigstore) && index.sigstore.every(isSigstoreMaterial))) {
    throw new BundleError(`${source}: bundle.json lists invalid Sigstore material`);
  }
  return index;
}

/**
 * An image entry an import can judge: names it can build paths from (an import under a Sigstore rule
 * reads every entry, signed or not), and artifacts of the two conventions.
 */
function isSignedImage(i: unknown): boolean {
  const image = i as Partial<BundleImage> | null;
  const named = typeof image?.gun === 'string' && isValidGun(image.gun) && typeof image.tag === 'string' && TAG.test(image.tag) && typeof image.digest === 'string' && DIGEST.test(image.digest);
  if (!named || image.signatures === undefined) return named;
  return Array.isArray(image.signatures) && image.signatures.every((a) => typeof a === 'object' && a !== null && isArtifactOf(a));
}

function isSigstoreMaterial(m: unknown): boolean {
  const s = m as Partial<BundleSigstore> | null;
  if (typeof s !== 'object' || s === null || typeof s.gun !== 'string' || !isValidGun(s.gun)) return false;
  const keys = Array.isArray(s.keys) && s.keys.every((k) => typeof k === 'string' && KEY_PATH.test(k));
  const root = s.trustedRoot === undefined || (typeof s.trustedRoot === 'string' && ROOT_PATH.test(s.trustedRoot));
  return keys && root && Array.isArray(s.identities);
}
