// `trustgate check <image-ref>`: resolve one tag through Notary and print the digest `docker pull`
// with content trust would pull. Exit 0 signed, 1 not signed (or the trust data failed
// verification), 2 anything else (unreachable server, bad arguments).

import { readFile } from 'node:fs/promises';
import { MemoryTrustStore } from '../cache/trust-store.js';
import { ConfigError, NotSignedError, RepositoryError, TrustgateError } from '../errors.js';
import { NotaryRemote } from '../notary/remote.js';
import { TrustUpdater } from '../notary/updater.js';
import { DOCKER_HUB, gunOf, parseImageReference } from '../registry/reference.js';
import { decodePemCertificates, NO_PINNING, parseCertificate, type TrustPinning } from '../trust/index.js';

export interface CheckOptions {
  readonly notary?: string;
  readonly ca?: string;
  readonly pinKey?: readonly string[];
  readonly pinCa?: string;
  readonly json?: boolean;
  readonly user?: string;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Docker's default trust server: notary.docker.io for Docker Hub, else https://<registry>. */
export function defaultNotaryUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://notary.docker.io' : `https://${registry}`;
}

export async function runCheck(refText: string, opts: CheckOptions, io: Output): Promise<number> {
  let gun = refText;
  try {
    const ref = parseImageReference(refText);
    if (!ref.tag || ref.digest) throw new ConfigError('check resolves a tag: give <repository>:<tag>');
    gun = gunOf(ref);
    const password = process.env.TRUSTGATE_NOTARY_PASSWORD;
    const remote = new NotaryRemote(opts.notary ?? defaultNotaryUrl(ref.registry), {
      ca: opts.ca ? await readFile(opts.ca, 'utf8') : undefined,
      credentials: opts.user ? { username: opts.user, password: password ?? '' } : undefined,
    });
    try {
      const updater = new TrustUpdater({ fetcher: remote, store: new MemoryTrustStore(), pinning: await pinningFor(gun, opts) });
      const r = await updater.resolve(gun, ref.tag);
      const result = {
        reference: `${gun}:${ref.tag}`,
        signed: true,
        digest: r.digest,
        size: r.length,
        role: r.role,
        signers: r.signers,
        expires: r.expires.toISOString(),
        roles: r.chain.map((c) => ({ role: c.role, version: c.version, expires: c.expires.toISOString() })),
      };
      if (opts.json) io.out(JSON.stringify(result, null, 2));
      else {
        io.out(`${result.reference} is signed`);
        io.out(`  digest   ${r.digest}`);
        io.out(`  size     ${r.length} bytes`);
        io.out(`  role     ${r.role}`);
        io.out(`  signers  ${r.signers.join(', ')}`);
        for (const c of result.roles) io.out(`  ${c.role.padEnd(17)} v${c.version}, expires ${c.expires}`);
      }
      return 0;
    } finally {
      await remote.close();
    }
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    const notSigned = err instanceof NotSignedError || err instanceof RepositoryError;
    if (opts.json) {
      io.out(JSON.stringify({ reference: gun, signed: false, error: { code: err.code, message: err.message } }, null, 2));
    } else {
      io.err(`${notSigned ? 'not signed' : 'error'}: ${err.message} [${err.code}]`);
    }
    return notSigned ? 1 : 2;
  }
}

async function pinningFor(gun: string, opts: CheckOptions): Promise<TrustPinning> {
  if (!opts.pinKey?.length && !opts.pinCa) return NO_PINNING;
  const keys = new Map<string, readonly string[]>();
  const ca = new Map<string, ReturnType<typeof parseCertificate>[]>();
  if (opts.pinKey?.length) keys.set(gun, opts.pinKey.map((k) => k.toLowerCase()));
  if (opts.pinCa) ca.set(gun, decodePemCertificates(await readFile(opts.pinCa)).map((der) => parseCertificate(der, 'trust pinning')));
  return { keys, ca, disableTOFU: true };
}
