// `trustgate check <image-ref>`: resolve one tag through Notary and print the digest `docker pull`
// with content trust would pull. Exit 0 signed, 1 not signed (or the trust data failed
// verification), 2 anything else (unreachable server, untrusted TLS certificate, bad arguments).
//
// The flags become a configuration (one upstream, one policy rule) and the Notary client is the one
// `serve` builds from it (notary/clients.ts): the same timeouts, limits, pinning and TLS handling.

import { MemoryTrustStore } from '../cache/trust-store.js';
import { parseConfig } from '../config/config.js';
import { ConfigError, NotSignedError, RepositoryError, TransportError, TrustgateError, UsageError } from '../errors.js';
import { buildNotaryClients } from '../notary/clients.js';
import { defaultNotaryUrl } from '../notary/remote.js';
import { Policy } from '../policy/policy.js';
import { gunOf, parseImageReference, type ImageReference } from '../registry/reference.js';

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
    const ref = tagReference(refText);
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
    const tls = err instanceof TransportError ? certificateProblem(err) : undefined;
    const message = tls ? `${tls.explanation} (${tls.code}): ${tls.remedy}` : err.message;
    if (opts.json) {
      io.out(JSON.stringify({ reference: gun, signed: false, error: { code: err.code, message, ...(tls ? { tls: tls.code } : {}) } }, null, 2));
    } else {
      io.err(`${notSigned ? 'not signed' : 'error'}: ${message} [${err.code}]`);
    }
    return notSigned ? 1 : 2;
  }
}

/** The argument as a tag reference; anything else is a usage error (exit 2), not a configuration one. */
function tagReference(text: string): ImageReference & { tag: string } {
  let ref: ImageReference;
  try {
    ref = parseImageReference(text);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(err.message, { cause: err });
  }
  if (!ref.tag || ref.digest) throw new UsageError(`check resolves a tag: give <repository>:<tag>, not ${JSON.stringify(text)}`);
  return ref as ImageReference & { tag: string };
}

// Node's certificate verification codes (X509_V_ERR_* names, node:tls): an untrusted issuer is
// fixed with --ca; an expired certificate or one for another host name is the server's to fix.
const UNTRUSTED_ISSUER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const SERVER_CERTIFICATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_REVOKED']);

/** A TLS certificate failure somewhere in the transport error's causes, said as one. */
function certificateProblem(err: TransportError): { code: string; explanation: string; remedy: string } | undefined {
  for (let e: unknown = err.cause; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const where = new URL(err.url).origin;
    if (UNTRUSTED_ISSUER.has(code)) {
      return { code, explanation: `the TLS certificate of ${where} is not issued by a CA trusted here`, remedy: 'give the CA certificate (PEM) that issued it with --ca <file>' };
    }
    if (SERVER_CERTIFICATE.has(code)) {
      return { code, explanation: `the TLS certificate of ${where} is not valid for it`, remedy: 'the server needs a current certificate for this host name' };
    }
  }
  return undefined;
}
