// A real Sigstore signer and an independent verifier: Debian 13's skopeo (scripts/skopeo-sigstore.sh,
// Sigstore enabled, run from the repository's .peers/) signing images in a real registry in cosign's
// tag layout with keys in cosign's own encrypted format (make-cosign-key.py), and the same skopeo
// verifying with a policy.json `sigstoreSigned` requirement — the oracle every verdict is compared with.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_MANIFEST_TYPES } from './images.js';
import { run, runOk } from './process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SKOPEO_SIGSTORE = join(ROOT, 'scripts', 'skopeo-sigstore.sh');
const MAKE_KEY = join(ROOT, 'test', 'helpers', 'make-cosign-key.py');

export type CosignKeyType = 'ec-p256' | 'ec-p384' | 'ed25519' | 'rsa-2048';

export interface CosignKey {
  /** Encrypted private key (ENCRYPTED SIGSTORE PRIVATE KEY). */
  readonly key: string;
  /** PEM public key (cosign.pub). */
  readonly pub: string;
  readonly pass: string;
}

export async function makeCosignKey(dir: string, name: string, type: CosignKeyType = 'ec-p256'): Promise<CosignKey> {
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, name);
  await runOk('/usr/bin/python3', [MAKE_KEY, prefix, '--type', type], { timeoutMs: 60_000 });
  return { key: `${prefix}.key`, pub: `${prefix}.pub`, pass: `${prefix}.pass` };
}

/** registries.d that reads and writes cosign-style attachments for every registry, and an accept-anything policy. */
function skopeoConfig(dir: string): { registriesD: string; acceptAll: string } {
  const registriesD = join(dir, 'registries.d');
  mkdirSync(registriesD, { recursive: true });
  writeFileSync(join(registriesD, 'sigstore.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
  const acceptAll = join(dir, 'accept-anything.json');
  writeFileSync(acceptAll, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  return { registriesD, acceptAll };
}

export interface SignOptions {
  /** The docker reference written into the payload (skopeo --sign-identity); default: the destination. */
  readonly identity?: string;
  /** Sign the index and every instance. */
  readonly all?: boolean;
}

/** `skopeo copy --sign-by-sigstore-private-key` of `host/repo:tag` onto itself: the digest is unchanged. */
export async function signImage(dir: string, host: string, ref: string, key: CosignKey, o: SignOptions = {}): Promise<void> {
  const { registriesD, acceptAll } = skopeoConfig(dir);
  const args = ['--policy', acceptAll, '--registries.d', registriesD, 'copy', '-q', '--preserve-digests'];
  if (o.all) args.push('--all');
  args.push('--sign-by-sigstore-private-key', key.key, '--sign-passphrase-file', key.pass);
  if (o.identity) args.push('--sign-identity', o.identity);
  args.push('--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/${ref}`, `docker://${host}/${ref}`);
  await runOk(SKOPEO_SIGSTORE, args, { timeoutMs: 180_000 });
}

export interface OraclePolicy {
  readonly keyPath: string;
  readonly signedIdentity?: { type: 'matchRepository' } | { type: 'remapIdentity'; prefix: string; signedPrefix: string };
}

/** The oracle: does skopeo's `sigstoreSigned` policy accept `host/ref`? (it reads the same signatures) */
export async function skopeoAccepts(dir: string, host: string, ref: string, p: OraclePolicy): Promise<{ accepted: boolean; stderr: string }> {
  const { registriesD } = skopeoConfig(dir);
  const policy = join(dir, `policy-${createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 12)}.json`);
  const requirement = { type: 'sigstoreSigned', keyPath: p.keyPath, signedIdentity: p.signedIdentity ?? { type: 'matchRepository' } };
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [host]: [requirement] } } }));
  const out = join(dir, `oracle-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const r = await run(SKOPEO_SIGSTORE, ['--policy', policy, '--registries.d', registriesD, 'copy', '-q', '--src-tls-verify=false', `docker://${host}/${ref}`, `dir:${out}`], {
    timeoutMs: 180_000,
  });
  return { accepted: r.code === 0, stderr: r.stderr };
}

// ---- writing to the real registry what no signer writes (tampering, swapped signatures) -------------

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function putBlob(registry: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha(bytes);
  const start = await fetch(`${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
  const loc = new URL(start.headers.get('location') ?? '', registry);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return digest;
}

export async function putManifest(registry: string, repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
  const res = await fetch(`${registry}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest put ${repo}:${ref}: HTTP ${res.status} ${await res.text()}`);
  return sha(bytes);
}

export async function getManifest(registry: string, repo: string, ref: string): Promise<Buffer | undefined> {
  const res = await fetch(`${registry}/v2/${repo}/manifests/${ref}`, { headers: { accept: ALL_MANIFEST_TYPES.join(', ') } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`manifest ${repo}:${ref}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

export async function getBlob(registry: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${registry}/v2/${repo}/blobs/${digest}`);
  if (!res.ok) throw new Error(`blob ${repo}@${digest}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

export const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
