// An in-memory Notary repository that signs whatever a test mutates (python-tuf
// tests/repository_simulator.py, shaped like notary's metadata). It is the attacker's toolbox for what
// a real notary-server cannot be made to produce: rollbacks, freezes, mix-and-match, bad signatures.
// It serves files through the MetadataFetcher seam, or over real HTTP with `listen()`.

import { createHash, generateKeyPairSync, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileTooLargeError } from '../../src/errors.js';
import type { MetadataFetcher } from '../../src/notary/remote.js';
import { canonicalBytes, keyIdOf, type JsonObject, type JsonValue } from '../../src/trust/index.js';
import { makeCertificate, pem, type SigAlg } from './x509.js';

export type KeyKind = 'ecdsa' | 'ecdsa-x509' | 'ed25519' | 'rsa' | 'rsa-x509';

export interface CertSpec {
  cn?: string;
  notBefore?: Date;
  notAfter?: Date;
  hash?: SigAlg;
  /** Issue the certificate from this CA instead of self-signing. */
  issuer?: { key: KeyObject; cn: string; der?: Buffer };
  rsaBits?: number;
}

export class SimKey {
  readonly keyType: string;
  readonly publicBytes: Buffer;
  readonly id: string;
  readonly method: string;

  constructor(
    readonly kind: KeyKind,
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    publicBytes: Buffer,
  ) {
    this.keyType = kind;
    this.publicBytes = publicBytes;
    this.id = keyIdOf(kind, publicBytes);
    this.method = kind.startsWith('ecdsa') ? 'ecdsa' : kind === 'ed25519' ? 'eddsa' : 'rsapss';
  }

  static generate(kind: KeyKind, cert: CertSpec = {}): SimKey {
    let pair: { privateKey: KeyObject; publicKey: KeyObject };
    if (kind.startsWith('ecdsa')) pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    else if (kind === 'ed25519') pair = generateKeyPairSync('ed25519');
    else pair = generateKeyPairSync('rsa', { modulusLength: cert.rsaBits ?? 2048 });
    let publicBytes: Buffer;
    if (kind === 'ed25519') publicBytes = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    else if (kind.endsWith('-x509')) {
      const der = makeCertificate({
        subjectCN: cert.cn ?? 'docker.io/library/sim',
        publicKey: pair.publicKey,
        issuerKey: cert.issuer?.key ?? pair.privateKey,
        issuerCN: cert.issuer?.cn ?? cert.cn ?? 'docker.io/library/sim',
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        hash: cert.hash,
        eku: ['1.3.6.1.5.5.7.3.3'],
      });
      publicBytes = Buffer.from(pem(der), 'latin1');
    } else publicBytes = pair.publicKey.export({ format: 'der', type: 'spki' });
    return new SimKey(kind, pair.privateKey, pair.publicKey, publicBytes);
  }

  sign(message: Buffer): Buffer {
    if (this.method === 'ecdsa') return cryptoSign('sha256', message, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    if (this.method === 'eddsa') return cryptoSign(null, message, this.privateKey);
    return cryptoSign('sha256', message, { key: this.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }

  toJson(): JsonObject {
    return { keytype: this.keyType, keyval: { private: null, public: this.publicBytes.toString('base64') } };
  }
}

export interface SigJson {
  keyid: string;
  method: string;
  sig: string;
}

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '.123456789Z');

export function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function fileMeta(b: Buffer): JsonObject {
  return {
    hashes: {
      sha256: createHash('sha256').update(b).digest('base64'),
      sha512: createHash('sha512').update(b).digest('base64'),
    },
    length: b.length,
  };
}

export interface Delegation {
  keys: SimKey[];
  threshold: number;
  paths: string[];
  signed: JsonObject;
}

export interface PublishOptions {
  /** Serve these exact bytes for a role instead of signing it afresh (its parent signs over them). */
  reuse?: Record<string, Buffer>;
  /** Leave a role's version unchanged this time. */
  keepVersion?: string[];
}

export class RepoSimulator implements MetadataFetcher {
  readonly origin = 'simulator';
  now = new Date();
  readonly keys: Record<'root' | 'targets' | 'snapshot' | 'timestamp', SimKey[]>;
  readonly thresholds = { root: 1, targets: 1, snapshot: 1, timestamp: 1 };
  /** The `signed` part of each role; tests mutate these before publishing. */
  readonly signed: Record<'root' | 'targets' | 'snapshot' | 'timestamp', JsonObject>;
  readonly delegations = new Map<string, Delegation>();
  /** Extra signers for the next root (rotation: the old root keys sign the new root too). */
  rootCosigners: SimKey[] = [];
  /** Per-role edits of `signed` just before it is signed (for shapes the simulator would not make). */
  readonly beforeSign = new Map<string, (signed: JsonObject) => void>();
  /** Per-role signature rewriting, applied when the role is signed. */
  readonly signatureHooks = new Map<string, (sigs: SigJson[], message: Buffer) => SigJson[]>();
  /** Files as published, by name (`timestamp`, `snapshot.<hex>`, `2.root`, …). */
  readonly files = new Map<string, Buffer>();
  /** Bytes served instead of the published ones (a man in the middle). */
  readonly overrides = new Map<string, Buffer | Error>();
  readonly requests: string[] = [];
  private server?: Server;

  constructor(readonly gun = 'docker.io/library/sim', rootKey?: SimKey) {
    this.keys = {
      root: [rootKey ?? SimKey.generate('ecdsa-x509', { cn: gun })],
      targets: [SimKey.generate('ecdsa')],
      snapshot: [SimKey.generate('ed25519')],
      timestamp: [SimKey.generate('ed25519')],
    };
    const exp = (days: number) => iso(new Date(this.now.getTime() + days * DAY));
    this.signed = {
      root: { _type: 'Root', consistent_snapshot: false, expires: exp(3650), keys: {}, roles: {}, version: 0 },
      targets: { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires: exp(1095), targets: {}, version: 0 },
      snapshot: { _type: 'Snapshot', expires: exp(1095), meta: {}, version: 0 },
      timestamp: { _type: 'Timestamp', expires: exp(14), meta: {}, version: 0 },
    };
    this.publishRoot();
    this.publish();
  }

  /** A date relative to the simulator's clock, as notary writes it. */
  expiresIn(days: number): string {
    return iso(new Date(this.now.getTime() + days * DAY));
  }

  addTarget(role: string, tag: string, content: Buffer | string): string {
    const bytes = Buffer.from(content);
    const file = role === 'targets' ? this.signed.targets : this.delegation(role).signed;
    // Docker and the notary CLI record only sha256 for targets
    (file.targets as JsonObject)[tag] = { hashes: { sha256: createHash('sha256').update(bytes).digest('base64') }, length: bytes.length };
    return `sha256:${sha256Hex(bytes)}`;
  }

  delegation(name: string): Delegation {
    const d = this.delegations.get(name);
    if (!d) throw new Error(`no delegation ${name}`);
    return d;
  }

  addDelegation(name: string, opts: { keys?: SimKey[]; threshold?: number; paths?: string[] } = {}): Delegation {
    const d: Delegation = {
      keys: opts.keys ?? [SimKey.generate('ecdsa-x509', { cn: name.split('/').pop() ?? name })],
      threshold: opts.threshold ?? 1,
      paths: opts.paths ?? [''],
      signed: { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires: this.expiresIn(1095), targets: {}, version: 0 },
    };
    this.delegations.set(name, d);
    return d;
  }

  /** Sign and publish the root from `keys.root` (+ `rootCosigners`), bumping its version. */
  publishRoot(): Buffer {
    const r = this.signed.root;
    const keys: JsonObject = {};
    const roles: JsonObject = {};
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      for (const k of this.keys[role]) keys[k.id] = k.toJson();
      roles[role] = { keyids: this.keys[role].map((k) => k.id), threshold: this.thresholds[role] };
    }
    r.keys = keys;
    r.roles = roles;
    r.version = (r.version as number) + 1;
    const bytes = this.signDocument('root', r, [...this.keys.root, ...this.rootCosigners]);
    this.files.set('root', bytes);
    this.files.set(`${r.version}.root`, bytes);
    this.files.set(`root.${sha256Hex(bytes)}`, bytes);
    return bytes;
  }

  /** Sign delegations, targets, snapshot and timestamp (in that order), bumping versions. */
  publish(opts: PublishOptions = {}): void {
    const reuse = opts.reuse ?? {};
    const bump = (role: string, s: JsonObject) => {
      if (!opts.keepVersion?.includes(role)) s.version = (s.version as number) + 1;
    };
    const out = new Map<string, Buffer>();
    // deepest delegations first, so each parent can list its children
    const names = [...this.delegations.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const name of names) {
      const d = this.delegation(name);
      this.writeDelegationsOf(name, d.signed);
      bump(name, d.signed);
      out.set(name, reuse[name] ?? this.signDocument(name, d.signed, d.keys));
    }
    this.writeDelegationsOf('targets', this.signed.targets);
    bump('targets', this.signed.targets);
    out.set('targets', reuse.targets ?? this.signDocument('targets', this.signed.targets, this.keys.targets));

    const meta: JsonObject = { root: fileMeta(this.files.get('root') as Buffer) };
    for (const [name, b] of out) meta[name] = fileMeta(b);
    this.signed.snapshot.meta = meta;
    bump('snapshot', this.signed.snapshot);
    out.set('snapshot', reuse.snapshot ?? this.signDocument('snapshot', this.signed.snapshot, this.keys.snapshot));

    this.signed.timestamp.meta = { snapshot: fileMeta(out.get('snapshot') as Buffer) };
    bump('timestamp', this.signed.timestamp);
    out.set('timestamp', reuse.timestamp ?? this.signDocument('timestamp', this.signed.timestamp, this.keys.timestamp));

    for (const [name, b] of out) {
      this.files.set(name, b);
      if (name !== 'timestamp') this.files.set(`${name}.${sha256Hex(b)}`, b);
    }
  }

  private writeDelegationsOf(parent: string, signed: JsonObject): void {
    const keys: JsonObject = {};
    const roles: JsonValue[] = [];
    for (const [name, d] of this.delegations) {
      if (name.slice(0, name.lastIndexOf('/')) !== parent) continue;
      for (const k of d.keys) keys[k.id] = k.toJson();
      roles.push({ keyids: d.keys.map((k) => k.id), name, paths: d.paths, threshold: d.threshold });
    }
    signed.delegations = { keys, roles };
  }

  /** `{"signed":…,"signatures":[…]}` with signatures over the canonical encoding of `signed`. */
  signDocument(role: string, signed: JsonObject, keys: SimKey[]): Buffer {
    this.beforeSign.get(role)?.(signed);
    const message = canonicalBytes(signed);
    let sigs: SigJson[] = keys.map((k) => ({ keyid: k.id, method: k.method, sig: k.sign(message).toString('base64') }));
    const hook = this.signatureHooks.get(role);
    if (hook) sigs = hook(sigs, message);
    return canonicalBytes({ signed, signatures: sigs as unknown as JsonValue });
  }

  // ---- serving ----------------------------------------------------------------------------

  async fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined> {
    this.requests.push(name);
    if (gun !== this.gun) return undefined;
    const o = this.overrides.get(name);
    if (o instanceof Error) throw o;
    const b = o ?? this.files.get(name);
    if (b && b.length > maxBytes) throw new FileTooLargeError(name, `more than ${maxBytes} bytes`);
    return b;
  }

  /** Serve the repository over HTTP as notary-server lays it out. Returns the base URL. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const m = /^\/v2\/(.+)\/_trust\/tuf\/(.+)\.json$/.exec(req.url ?? '');
      const name = m?.[2];
      this.requests.push(name ?? req.url ?? '');
      const o = name ? this.overrides.get(name) : undefined;
      const b = o instanceof Error ? undefined : (o ?? (name && m?.[1] === this.gun ? this.files.get(name) : undefined));
      if (!b) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(b);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
