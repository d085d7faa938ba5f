// The Sigstore part of a policy rule (`trust`, `sigstore: {keys, identities, trustedRoot, tlog,
// signedIdentity}`) and the checks that tie rules to upstreams: a rule whose trust needs Notary must
// not reach an upstream without one. Keys and trusted roots are read and parsed here, so a bad file
// fails at start, naming the key.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { TrustMaterial } from '@sigstore/verify';
import { ConfigError } from '../errors.js';
import { parsePublicKey, type VerificationKey } from '../sigstore/keys.js';
import type { SignedIdentity } from '../sigstore/reference.js';
import type { IdentityMatcher, TlogPolicy } from '../sigstore/verify.js';

/** notary (default) | sigstore | any (either verifies) | all (both verify, the same digest). */
export type TrustMode = 'notary' | 'sigstore' | 'any' | 'all';
export const TRUST_MODES: readonly TrustMode[] = ['notary', 'sigstore', 'any', 'all'];

export interface SigstorePolicy {
  readonly keys: readonly VerificationKey[];
  readonly identities: readonly IdentityMatcher[];
  readonly trust?: TrustMaterial | undefined;
  readonly trustedRootPath?: string | undefined;
  /** Explicit; undefined = required for keyless signatures, optional for keys. */
  readonly tlog?: TlogPolicy | undefined;
  readonly signedIdentity: SignedIdentity;
}

export interface RuleTrust {
  readonly trust: TrustMode;
  readonly sigstore?: SigstorePolicy | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(key: string, why: string): never {
  throw new ConfigError(`config ${key}: ${why}`);
}

function onlyKnown(v: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(v)) if (!known.includes(k)) bad(`${path}.${k}`, `unknown key (known: ${known.join(', ')})`);
}

async function readText(path: string, key: string, baseDir: string): Promise<string> {
  try {
    return await readFile(resolve(baseDir, path), 'utf8');
  } catch (cause) {
    throw new ConfigError(`config ${key}: cannot read ${path}`, { cause });
  }
}

/** `trust` and `sigstore` of policy rule `path` (`policy[i]`). */
export async function parseRuleTrust(rule: Obj, path: string, action: string, baseDir: string): Promise<RuleTrust> {
  const trust = rule.trust ?? 'notary';
  if (typeof trust !== 'string' || !(TRUST_MODES as readonly string[]).includes(trust)) bad(`${path}.trust`, `must be one of ${TRUST_MODES.join(', ')}`);
  const mode = trust as TrustMode;
  const raw = rule.sigstore;
  const usesSigstore = mode !== 'notary';
  if (raw !== undefined && raw !== null && !usesSigstore) bad(`${path}.sigstore`, 'is set, but trust is notary: set trust to sigstore, any or all');
  if (action !== 'verify' && rule.trust !== undefined) bad(`${path}.trust`, `only verify rules verify signatures (action is ${action})`);
  if (!usesSigstore || action !== 'verify') return { trust: mode };
  if (!isObj(raw)) bad(`${path}.sigstore`, `trust: ${mode} needs a sigstore mapping with keys and/or identities`);
  return { trust: mode, sigstore: await parseSigstore(raw, `${path}.sigstore`, baseDir) };
}

async function parseSigstore(v: Obj, path: string, baseDir: string): Promise<SigstorePolicy> {
  onlyKnown(v, path, ['keys', 'identities', 'trustedRoot', 'tlog', 'signedIdentity']);
  const keyPaths = v.keys ?? [];
  if (!Array.isArray(keyPaths) || keyPaths.some((k) => typeof k !== 'string' || k === '')) bad(`${path}.keys`, 'must be a list of PEM public key files');
  const keys = await Promise.all((keyPaths as string[]).map(async (p, i) => parsePublicKey(await readText(p, `${path}.keys[${i}]`, baseDir), `${path}.keys[${i}] (${p})`)));
  const identities = parseIdentities(v.identities, `${path}.identities`);
  if (keys.length === 0 && identities.length === 0) bad(path, 'names neither keys nor identities: nothing could ever verify');
  const rootPath = v.trustedRoot;
  if (rootPath !== undefined && (typeof rootPath !== 'string' || rootPath === '')) bad(`${path}.trustedRoot`, 'must be a file name');
  if (identities.length > 0 && rootPath === undefined) bad(`${path}.trustedRoot`, 'is required with identities: certificates are verified against its Fulcio CAs');
  const tlog = v.tlog;
  if (tlog !== undefined && tlog !== 'required' && tlog !== 'optional') bad(`${path}.tlog`, 'must be required or optional');
  if (tlog === 'required' && rootPath === undefined) bad(`${path}.tlog`, 'required needs a trustedRoot (its Rekor keys verify the log entries)');
  const trustedRootPath = typeof rootPath === 'string' ? resolve(baseDir, rootPath) : undefined;
  const trust = trustedRootPath ? await trustedRoot(rootPath as string, `${path}.trustedRoot`, baseDir) : undefined;
  return { keys, identities, trust, trustedRootPath, tlog, signedIdentity: parseSignedIdentity(v.signedIdentity, `${path}.signedIdentity`) };
}

/** Read and parse a trusted root (the Sigstore libraries load only when one is configured). */
async function trustedRoot(file: string, key: string, baseDir: string): Promise<TrustMaterial> {
  const { parseTrustedRoot } = await import('../sigstore/trusted-root.js');
  return parseTrustedRoot(await readText(file, key, baseDir), `${key} (${file})`);
}

function parseIdentities(v: unknown, path: string): IdentityMatcher[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(path, 'must be a list of {issuer, subject | subjectRegExp}');
  return v.map((id, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(id)) bad(at, 'must be a mapping');
    onlyKnown(id, at, ['issuer', 'subject', 'subjectRegExp']);
    if (typeof id.issuer !== 'string' || id.issuer === '') bad(`${at}.issuer`, 'is required (the OIDC issuer URL)');
    const hasSubject = typeof id.subject === 'string' && id.subject !== '';
    const hasRe = typeof id.subjectRegExp === 'string' && id.subjectRegExp !== '';
    if (hasSubject === hasRe) bad(at, 'needs exactly one of subject and subjectRegExp');
    let subjectRegExp: RegExp | undefined;
    if (hasRe) {
      try {
        // matched against the whole subject: an unanchored pattern would accept any subject containing it
        subjectRegExp = new RegExp(`^(?:${id.subjectRegExp as string})$`, 'u');
      } catch (cause) {
        throw new ConfigError(`config ${at}.subjectRegExp: not a regular expression`, { cause });
      }
    }
    return { issuer: id.issuer, subject: hasSubject ? (id.subject as string) : undefined, subjectRegExp };
  });
}

function parseSignedIdentity(v: unknown, path: string): SignedIdentity {
  if (v === undefined || v === null || v === 'matchRepository') return { kind: 'matchRepository' };
  if (!isObj(v) || !isObj(v.remap)) bad(path, 'must be matchRepository or { remap: { prefix, signedPrefix } }');
  onlyKnown(v, path, ['remap']);
  const r = v.remap;
  onlyKnown(r, `${path}.remap`, ['prefix', 'signedPrefix']);
  if (typeof r.prefix !== 'string' || r.prefix === '' || typeof r.signedPrefix !== 'string' || r.signedPrefix === '') bad(`${path}.remap`, 'needs prefix and signedPrefix');
  return { kind: 'remap', prefix: r.prefix, signedPrefix: r.signedPrefix };
}

/** Does a rule whose glob is `match` reach repositories of upstream `name` (before any earlier rule)? */
function ruleReaches(match: string, name: string): boolean {
  const literal = match.split(/[*?]/)[0] ?? '';
  const root = `${name}/`;
  return literal.startsWith(root) || root.startsWith(literal);
}

/** An earlier rule `P*` (P a prefix of `<name>/`) catches every repository of the upstream. */
function ruleCoversAll(match: string, name: string): boolean {
  return match.endsWith('*') && !/[*?]/.test(match.slice(0, -1)) && `${name}/`.startsWith(match.slice(0, -1));
}

/** A verify rule that needs Notary must not reach an upstream without one. */
export function checkTrustCoverage(upstreams: readonly { name: string; notary?: string | undefined }[], rules: readonly { match: string; action: string; trust: TrustMode }[]): void {
  for (const u of upstreams) {
    if (u.notary !== undefined) continue;
    for (const [i, r] of rules.entries()) {
      if (!ruleReaches(r.match, u.name)) continue;
      if (r.action === 'verify' && (r.trust === 'notary' || r.trust === 'all')) {
        bad(`policy[${i}]`, `trust: ${r.trust} needs Notary, but upstream ${u.name} has none (set its notary, or trust: sigstore / any)`);
      }
      if (ruleCoversAll(r.match, u.name)) break;
    }
  }
}
