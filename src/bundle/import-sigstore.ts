// `trust import`, Sigstore: every image the bundle carries signatures for is judged by this site's own
// policy rule for its repository — its keys, identities, trusted root and tlog requirement, never the
// bundle's — reading the signatures from the bundle's artifact directories (checksummed) exactly as a
// pull here will read them from the registry they are copied into. A verified tag becomes a rollback
// record: its digest, ordered by the signing time its signatures prove, must not be older than the one
// this site already holds for the tag (TAG_ROLLBACK), so rollback protection crosses the gap.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import type { SigstorePolicy } from '../config/sigstore.js';
import { ConfigError, SigstoreError, TagRollbackError, TrustgateError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { verifyDigestSignatures } from '../sigstore/digest-signatures.js';
import { newestTime } from '../sigstore/source.js';
import { decideAdvance, type TagAdvance, type TagRecordStore } from '../sigstore/tag-history.js';
import { BundleError, type Bundle, type BundleImage, type BundleSigstore } from './bundle.js';
import type { Progress } from './progress.js';
import { dirLayoutFetcher, KEY_PATH, ROOT_PATH } from './signatures.js';

export interface ImportedTag {
  readonly gun: string;
  readonly tag: string;
  readonly digest: string;
  /** The keys or identities whose signatures verified here. */
  readonly signers: readonly string[];
  /** The newest signing time the signatures prove (or claim), epoch ms. */
  readonly order?: number | undefined;
}

export interface SignatureCheck {
  readonly verified: ImportedTag[];
  readonly refused: { readonly gun: string; readonly error: TrustgateError }[];
  /** What the operator should know: signatures this site does not judge, material that differs. */
  readonly notes: string[];
  readonly advances: TagAdvance[];
}

interface CheckContext {
  readonly config: Config;
  readonly policy: Policy;
  readonly tags: TagRecordStore;
  readonly progress: Progress;
}

export async function verifyBundleSignatures(bundle: Bundle, ctx: CheckContext): Promise<SignatureCheck> {
  const check: SignatureCheck = { verified: [], refused: [], notes: [], advances: [] };
  const seen = new Set<string>();
  for (const image of bundle.index.images ?? []) {
    const name = `${image.gun}:${image.tag}`;
    try {
      if (image.signatures !== undefined && seen.has(name)) throw new BundleError(`${name} is listed twice in bundle.json`);
      seen.add(name);
      const tag = await verifyImage(bundle, image, ctx, check.notes);
      if (tag === undefined) continue;
      check.verified.push(tag);
      check.advances.push({ gun: tag.gun, tag: tag.tag, record: { digest: tag.digest, order: tag.order } });
    } catch (err) {
      if (!(err instanceof TrustgateError)) throw err; // a fault, not a verdict
      check.refused.push({ gun: name, error: err });
    }
  }
  for (const m of bundle.index.sigstore ?? []) check.notes.push(...(await materialNotes(bundle, m, ctx.policy)));
  return check;
}

/** One image's signatures under this site's rule; undefined when there is nothing for it to judge. */
async function verifyImage(bundle: Bundle, image: BundleImage, ctx: CheckContext, notes: string[]): Promise<ImportedTag | undefined> {
  const name = `${image.gun}:${image.tag}`;
  const decision = ctx.policy.decide(image.gun);
  const mode = decision.trust ?? 'notary';
  const rule = decision.action === 'verify' && mode !== 'notary' ? decision.sigstore : undefined;
  const artifacts = image.signatures ?? [];
  if (rule === undefined) {
    if (artifacts.length > 0) notes.push(`${name}: signatures carried but not verified here: the policy rule for ${image.gun} does not verify Sigstore signatures`);
    return undefined;
  }
  if (!ctx.config.upstreams.some((u) => image.gun.startsWith(`${u.name}/`))) throw new ConfigError(`no configured upstream serves ${image.gun}`);
  if (artifacts.length === 0) {
    // trust: any — Notary may vouch for it; sigstore and all need the signatures the bundle lacks
    if (mode === 'any') return undefined;
    throw new SigstoreError('SIGSTORE_NO_SIGNATURE', `${name}: the bundle carries no signatures for ${image.digest}, and the policy rule here verifies Sigstore signatures`);
  }
  const fetcher = dirLayoutFetcher((p) => bundle.read(p), image.gun, artifacts);
  const signatures = await verifyDigestSignatures(fetcher, { repository: image.gun, gun: image.gun, digest: image.digest }, rule);
  ctx.progress.item();
  const order = newestTime(signatures);
  const state = await ctx.tags.get(image.gun, image.tag);
  if (decideAdvance(state, { digest: image.digest, order }) === undefined) throw new TagRollbackError(image.gun, image.tag, image.digest, state?.newest.digest ?? '');
  return { gun: image.gun, tag: image.tag, digest: image.digest, signers: [...new Set(signatures.map((s) => s.signer))], order };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Where the keys or trusted root the export verified with differ from this site's: worth a look. */
async function materialNotes(bundle: Bundle, m: BundleSigstore, policy: Policy): Promise<string[]> {
  const rule = policy.decide(m.gun).sigstore;
  if (rule === undefined) return [];
  const notes: string[] = [];
  const there = m.keys.map((p) => (KEY_PATH.exec(p) as RegExpExecArray)[1] as string).sort();
  const here = rule.keys.map((k) => k.id).sort();
  if (there.join() !== here.join()) notes.push(`${m.gun}: exported with keys [${there.join(', ')}]; this site verifies with [${here.join(', ')}]`);
  const rootHere = await trustedRootDigest(rule);
  const rootThere = m.trustedRoot !== undefined ? (ROOT_PATH.exec(m.trustedRoot) as RegExpExecArray)[1] : undefined;
  if (rootHere !== rootThere) notes.push(`${m.gun}: exported with trusted root ${rootThere ?? '(none)'}; this site's is ${rootHere ?? '(none)'} (sha256)`);
  // the bundle's copies are checksummed: reading them fails a damaged bundle here too
  for (const p of [...m.keys, ...(m.trustedRoot ? [m.trustedRoot] : [])]) await bundle.read(p);
  return notes;
}

async function trustedRootDigest(rule: SigstorePolicy): Promise<string | undefined> {
  if (rule.trustedRootPath === undefined) return undefined;
  return sha256(await readFile(rule.trustedRootPath));
}
