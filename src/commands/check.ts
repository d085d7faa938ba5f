// `trustgate check <image-ref>`: resolve one tag through Notary and print the digest `docker pull`
// with content trust would pull. Exit 0 signed, 1 not signed (or the trust data failed
// verification), 2 anything else (unreachable server, bad arguments).
//
// The flags become a configuration (one upstream, one policy rule) and the Notary client is the one
// `serve` builds from it (notary/clients.ts): the same timeouts, limits, pinning and TLS handling.

import { MemoryTrustStore } from '../cache/trust-store.js';
import { parseConfig } from '../config/config.js';
import { ConfigError, NotSignedError, RepositoryError, TrustgateError } from '../errors.js';
import { buildNotaryClients } from '../notary/clients.js';
import { Policy } from '../policy/policy.js';
import { DOCKER_HUB, gunOf, parseImageReference } from '../registry/reference.js';

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

const USER_ENV = 'TRUSTGATE_CHECK_NOTARY_USER';
const PASSWORD_ENV = 'TRUSTGATE_NOTARY_PASSWORD';

/** The configuration `check`'s flags describe: one upstream and a rule for the one repository. */
async function checkConfig(registry: string, gun: string, opts: CheckOptions) {
  const pinned = Boolean(opts.pinKey?.length || opts.pinCa);
  const upstream = {
    name: registry,
    registry: `https://${registry}`,
    notary: opts.notary ?? defaultNotaryUrl(registry),
    default: true,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.user ? { notaryAuth: { usernameEnv: USER_ENV, passwordEnv: PASSWORD_ENV } } : {}),
  };
  const pin = pinned ? { pin: { ...(opts.pinKey?.length ? { keys: opts.pinKey } : {}), ...(opts.pinCa ? { ca: opts.pinCa } : {}) } } : {};
  const env = { ...process.env, [USER_ENV]: opts.user, [PASSWORD_ENV]: process.env[PASSWORD_ENV] ?? '' };
  return parseConfig(
    { upstreams: [upstream], policy: [{ match: gun, action: 'verify', ...pin }], trust: { tofu: !pinned } },
    { env, baseDir: process.cwd() },
  );
}

export async function runCheck(refText: string, opts: CheckOptions, io: Output): Promise<number> {
  let gun = refText;
  try {
    const ref = parseImageReference(refText);
    if (!ref.tag || ref.digest) throw new ConfigError('check resolves a tag: give <repository>:<tag>');
    gun = gunOf(ref);
    const config = await checkConfig(ref.registry, gun, opts);
    const notary = buildNotaryClients(config, { store: new MemoryTrustStore(), policy: new Policy(config.policy, config.trust.tofu) });
    try {
      const r = await notary.updaterFor(ref.registry).resolve(gun, ref.tag);
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
      await notary.close();
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
