// `trustgate check <image-ref> --key FILE | --identity ISSUER=SUBJECT [--trusted-root FILE]`: resolve
// one tag at its registry and verify its Sigstore (cosign) signatures as a pull through trustgate
// would — the same discovery, verification and identity rules, from a configuration the flags describe
// (one upstream without Notary, one `trust: sigstore` rule). Exit 0 signed, 1 not signed, 2 otherwise.

import { parseConfig } from '../config/config.js';
import { ConfigError, SigstoreError, TagRollbackError, TrustgateError } from '../errors.js';
import { Policy } from '../policy/policy.js';
import { DOCKER_HUB, gunOf, parseImageReference } from '../registry/reference.js';
import { RegistryUpstream } from '../registry/upstream.js';
import { SigstoreTrustSource } from '../sigstore/source.js';
import { MemoryTagHistory } from '../sigstore/tag-history.js';
import type { Output } from './check.js';

export interface SigstoreCheckOptions {
  readonly key?: readonly string[];
  readonly identity?: readonly string[];
  readonly trustedRoot?: string;
  readonly tlog?: string;
  /** The registry's URL (default: https://<registry>, Docker Hub's for docker.io). */
  readonly registry?: string;
  readonly json?: boolean;
}

export function wantsSigstore(opts: SigstoreCheckOptions): boolean {
  return Boolean(opts.key?.length || opts.identity?.length);
}

function identities(list: readonly string[]): { issuer: string; subject: string }[] {
  return list.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw new ConfigError(`--identity ${s}: give ISSUER=SUBJECT`);
    return { issuer: s.slice(0, eq), subject: s.slice(eq + 1) };
  });
}

export async function runSigstoreCheck(refText: string, opts: SigstoreCheckOptions, io: Output): Promise<number> {
  let reference = refText;
  try {
    const ref = parseImageReference(refText);
    if (!ref.tag || ref.digest) throw new ConfigError('check resolves a tag: give <repository>:<tag>');
    const gun = gunOf(ref);
    reference = `${gun}:${ref.tag}`;
    const registry = opts.registry ?? (ref.registry === DOCKER_HUB ? 'https://registry-1.docker.io' : `https://${ref.registry}`);
    const sigstore = sigstoreRule(opts);
    const config = await parseConfig(
      { upstreams: [{ name: ref.registry, registry, default: true }], policy: [{ match: gun, action: 'verify', trust: 'sigstore', sigstore }] },
      { env: process.env, baseDir: process.cwd() },
    );
    const upstream = new RegistryUpstream(config.upstreams[0] as (typeof config.upstreams)[0], {});
    try {
      const source = new SigstoreTrustSource({ history: new MemoryTagHistory(), verdictTtlMs: 0, manifestMaxBytes: config.limits.manifestMaxBytes });
      const target = { upstream, repository: ref.repository, gun, decision: new Policy(config.policy, true).decide(gun), accept: undefined };
      const { verdict } = await source.resolveTag(target, ref.tag);
      printSigned(reference, verdict, opts, io);
      return 0;
    } finally {
      await upstream.close();
    }
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    const notSigned = err instanceof SigstoreError || err instanceof TagRollbackError;
    if (opts.json) io.out(JSON.stringify({ reference, signed: false, error: { code: err.code, message: err.message } }, null, 2));
    else io.err(`${notSigned ? 'not signed' : 'error'}: ${err.message} [${err.code}]`);
    return notSigned ? 1 : 2;
  }
}

/** The policy rule's `sigstore` block, from the command line. */
function sigstoreRule(opts: SigstoreCheckOptions) {
  return {
    ...(opts.key?.length ? { keys: opts.key } : {}),
    ...(opts.identity?.length ? { identities: identities(opts.identity) } : {}),
    ...(opts.trustedRoot ? { trustedRoot: opts.trustedRoot } : {}),
    ...(opts.tlog ? { tlog: opts.tlog } : {}),
  };
}

function printSigned(reference: string, verdict: { digest: string; signedBy: unknown; signers: readonly string[] }, opts: SigstoreCheckOptions, io: Output): void {
  if (opts.json) {
    io.out(JSON.stringify({ reference, signed: true, system: 'sigstore', digest: verdict.digest, signedBy: verdict.signedBy, signers: verdict.signers }, null, 2));
    return;
  }
  io.out(`${reference} is signed (Sigstore)`);
  io.out(`  digest   ${verdict.digest}`);
  io.out(`  signers  ${verdict.signers.join(', ')}`);
}
