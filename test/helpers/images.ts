// Tiny deterministic OCI image layouts built in-process (no Docker), pushed to a real registry with
// skopeo: a single-platform image, a second one, and a two-platform index.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runOk } from './process.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function tarOneFile(name: string, body: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write((1700000000).toString(8).padStart(11, '0') + '\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, pad, Buffer.alloc(1024)]);
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
}

function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const digest = sha(data);
  const dir = join(layout, 'blobs', 'sha256');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, digest.slice(7)), data);
  return { digest, size: data.length };
}

function image(layout: string, text: string, arch: string, variant?: string): Descriptor {
  const tar = tarOneFile('hello.txt', Buffer.from(text));
  const layer = writeBlob(layout, gzipSync(tar, { level: 9 }));
  const config = {
    architecture: arch,
    os: 'linux',
    ...(variant ? { variant } : {}),
    config: { Cmd: ['/hello'], Labels: { 'demo.text': text.trim() } },
    rootfs: { type: 'layers', diff_ids: [sha(tar)] },
    created: '2023-11-14T22:13:20Z',
  };
  const cfg = writeBlob(layout, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  };
  const m = writeBlob(layout, Buffer.from(JSON.stringify(manifest, null, 2)));
  return { mediaType: manifest.mediaType, ...m, platform: { architecture: arch, os: 'linux', ...(variant ? { variant } : {}) } };
}

function finish(layout: string, desc: Descriptor, tag: string): void {
  const { platform: _p, ...d } = desc;
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...d, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
}

export interface Layouts {
  single: string;
  single2: string;
  multi: string;
}

/** OCI layouts: `single:v1`, `single2:v2` (amd64 images) and `multi:multi` (amd64 + arm64/v8). */
export function buildLayouts(dir: string, salt = ''): Layouts {
  const out = { single: join(dir, 'single'), single2: join(dir, 'single2'), multi: join(dir, 'multi') };
  for (const d of Object.values(out)) mkdirSync(d, { recursive: true });
  finish(out.single, image(out.single, `hello from demo v1${salt}\n`, 'amd64'), 'v1');
  finish(out.single2, image(out.single2, `hello from demo v2${salt}\n`, 'amd64'), 'v2');
  const a = image(out.multi, `hello from multi amd64${salt}\n`, 'amd64');
  const b = image(out.multi, `hello from multi arm64${salt}\n`, 'arm64', 'v8');
  const idx = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [a, b] };
  const i = writeBlob(out.multi, Buffer.from(JSON.stringify(idx, null, 2)));
  finish(out.multi, { mediaType: idx.mediaType, ...i }, 'multi');
  return out;
}

/** skopeo copy from a layout into a registry (plain HTTP, loopback). */
export async function push(layout: string, tag: string, dest: string, opts: { format?: 'v2s2'; all?: boolean; creds?: string } = {}): Promise<void> {
  const args = ['copy', '-q', '--dest-tls-verify=false'];
  if (opts.format) args.push('--format', opts.format);
  if (opts.all) args.push('--all');
  if (opts.creds) args.push('--dest-creds', opts.creds);
  await runOk('skopeo', [...args, `oci:${layout}:${tag}`, `docker://${dest}`], { timeoutMs: 120_000 });
}

export const ALL_MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

/** The exact manifest bytes a registry stores under a tag, with their digest. */
export async function manifestOf(registry: string, repo: string, ref: string, authorization?: string): Promise<{ digest: string; size: number; body: Buffer; mediaType: string }> {
  const res = await fetch(`${registry}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: ALL_MANIFEST_TYPES.join(', '), ...(authorization ? { authorization } : {}) },
  });
  if (!res.ok) throw new Error(`manifest ${repo}:${ref}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { digest: sha(body), size: body.length, body, mediaType: res.headers.get('content-type') ?? '' };
}
