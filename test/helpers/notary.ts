// A real notary-server (Debian package `notary`, 0.7) on a free loopback port with TLS from a test
// CA, optionally backed by notary-signer (ECDSA server keys, as Docker Hub had), and the real `notary`
// CLI to sign into it the way Docker Content Trust lays data out.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Daemon, freePort, run, runOk, startDaemon, waitFor } from './process.js';
import { ecKeyPair, makeCertificate, makeTlsPki, pem } from './x509.js';

export const PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'test-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'test-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'test-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'test-delegation-pass',
};

export interface NotaryServer {
  url: string;
  caPath: string;
  caPem: string;
  stop(): Promise<void>;
}

export interface NotaryServerOptions {
  dir: string;
  /** 'local': ed25519 server keys; 'signer': notary-signer with ECDSA keys. */
  trust?: 'local' | 'signer';
  /** Extra top-level config (e.g. token `auth`). */
  extra?: Record<string, unknown>;
  /** false: plain HTTP (for tests that put a recording proxy in front). */
  tls?: boolean;
}

function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startNotaryServer(o: NotaryServerOptions): Promise<NotaryServer> {
  mkdirSync(o.dir, { recursive: true });
  const pki = makeTlsPki();
  const file = (name: string, content: string) => {
    const p = join(o.dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const caPath = file('ca.crt', pki.caPem);
  const certPath = file('server.crt', pki.certPem);
  const keyPath = file('server.key', pki.keyPem);
  const daemons: Daemon[] = [];
  let trustService: Record<string, unknown> = { type: 'local' };
  if (o.trust === 'signer') {
    const grpcPort = await freePort();
    const signerCfg = file(
      'signer.json',
      JSON.stringify({
        server: { grpc_addr: `127.0.0.1:${grpcPort}`, tls_cert_file: certPath, tls_key_file: keyPath, client_ca_file: caPath },
        logging: { level: 'info' },
        storage: { backend: 'memory' },
      }),
    );
    const signer = startDaemon('notary-signer', 'notary-signer', ['-config', signerCfg], join(o.dir, 'signer.log'), {
      env: { ...process.env, NOTARY_SIGNER_DEFAULT_ALIAS: 'alias', NOTARY_SIGNER_ALIAS: 'test-signer-pass' },
    });
    daemons.push(signer);
    await waitFor('notary-signer', async () => (await import('./process.js')).portOpen(grpcPort), 20_000, signer);
    trustService = {
      type: 'remote',
      hostname: '127.0.0.1',
      port: String(grpcPort),
      key_algorithm: 'ecdsa',
      tls_ca_file: caPath,
      tls_client_cert: certPath,
      tls_client_key: keyPath,
    };
  }
  const port = await freePort();
  const cfg = file(
    'server.json',
    JSON.stringify({
      server: { http_addr: `127.0.0.1:${port}`, ...(o.tls === false ? {} : { tls_key_file: keyPath, tls_cert_file: certPath }) },
      trust_service: trustService,
      storage: { backend: 'memory' },
      logging: { level: 'info' },
      ...o.extra,
    }),
  );
  const server = startDaemon('notary-server', 'notary-server', ['-config', cfg], join(o.dir, 'server.log'));
  daemons.push(server);
  const url = `${o.tls === false ? 'http' : 'https'}://127.0.0.1:${port}`;
  try {
    const probe = o.tls === false ? async () => (await fetch(`${url}/_notary_server/health`)).ok : () => httpsOk(`${url}/_notary_server/health`, pki.caPem);
    await waitFor('notary-server health', probe, 20_000, server);
  } catch (err) {
    for (const d of daemons.reverse()) await d.stop();
    throw err;
  }
  return {
    url,
    caPath,
    caPem: pki.caPem,
    stop: async () => {
      for (const d of daemons.reverse()) await d.stop();
    },
  };
}

export interface ListedTarget {
  name: string;
  digest: string;
  size: number;
  role: string;
}

/** The notary CLI with its own trust dir, talking to one server. */
export class NotaryCli {
  readonly configPath: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    server: NotaryServer,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    mkdirSync(join(dir, 'trust'), { recursive: true });
    this.configPath = join(dir, 'config.json');
    const remote = server.url.startsWith('https:') ? { url: server.url, root_ca: server.caPath } : { url: server.url };
    writeFileSync(this.configPath, JSON.stringify({ trust_dir: join(dir, 'trust'), remote_server: remote }));
    this.env = { ...process.env, ...PASSPHRASES, ...extraEnv };
  }

  async notary(...args: string[]): Promise<string> {
    // "yes" answers the confirmation `notary key rotate … root` asks for
    return runOk('notary', ['-c', this.configPath, ...args], { env: this.env, timeoutMs: 60_000, input: 'yes\n' });
  }

  /** A new repository with a server-managed snapshot key, as `docker push` with DCT creates it. */
  async init(gun: string): Promise<void> {
    await this.notary('init', gun, '-p');
    await this.notary('key', 'rotate', gun, 'snapshot', '-r');
  }

  async addHash(gun: string, tag: string, content: string | Buffer, role = 'targets'): Promise<{ digest: string; size: number }> {
    const bytes = Buffer.from(content);
    const signed = { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
    await this.sign(gun, tag, signed, role);
    return signed;
  }

  /** `notary addhash … -p`: sign `tag` to a manifest known by its digest and size, in `role`. */
  async sign(gun: string, tag: string, m: { digest: string; size: number }, role = 'targets'): Promise<void> {
    await this.notary('addhash', gun, tag, String(m.size), '--sha256', m.digest.slice('sha256:'.length), '-r', role, '-p');
  }

  /** A delegation with a fresh P-256 key and self-signed certificate, as `docker trust signer add`. */
  async addDelegation(gun: string, role: string, paths: string[] | 'all' = 'all'): Promise<void> {
    const k = ecKeyPair();
    const cert = makeCertificate({ subjectCN: role.split('/').pop() as string, publicKey: k.publicKey, issuerKey: k.privateKey });
    const base = join(this.dir, role.replace(/\//g, '_') + '-' + Math.random().toString(36).slice(2));
    writeFileSync(`${base}.key`, k.privateKey.export({ format: 'pem', type: 'sec1' }) as string, { mode: 0o600 });
    writeFileSync(`${base}.crt`, pem(cert));
    await this.notary('key', 'import', `${base}.key`, '--role', role, '--gun', gun);
    const pathArgs = paths === 'all' ? ['--all-paths'] : paths.flatMap((p) => ['--paths', p]);
    await this.notary('delegation', 'add', gun, role, `${base}.crt`, ...pathArgs, '-p');
  }

  /** `notary list GUN -r targets/releases,targets`: the roles Docker reads, in Docker's order. */
  async listDockerView(gun: string): Promise<ListedTarget[]> {
    const out = await this.notary('list', gun, '-r', 'targets/releases,targets');
    return parseList(out);
  }

  async list(gun: string): Promise<ListedTarget[]> {
    return parseList(await this.notary('list', gun));
  }

  /** Root key IDs as `notary key list` shows them (the canonical IDs). */
  async rootKeyIds(gun: string): Promise<string[]> {
    const out = await this.notary('key', 'list');
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[0] === 'root' && (cols[1] === gun || cols.length === 3))
      .map((cols) => cols.find((c) => /^[0-9a-f]{64}$/.test(c)) as string)
      .filter(Boolean);
  }

  lookup(gun: string, tag: string) {
    return run('notary', ['-c', this.configPath, 'lookup', gun, tag], { env: this.env });
  }
}

function parseList(out: string): ListedTarget[] {
  return out
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length === 4)
    .map(([name, hex, size, role]) => ({ name: name as string, digest: `sha256:${hex}`, size: Number(size), role: role as string }));
}
