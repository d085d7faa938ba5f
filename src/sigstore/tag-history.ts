// Tag rollback memory. cosign signatures sign digests, not tags, so a registry (or anyone in front of
// it) can point a tag back at an older signed image and every signature still verifies. trustgate
// remembers, per tag, the newest signed digest it has served and refuses an older one (TAG_ROLLBACK):
//   - "newer" is decided by signing time where both have one and they differ (a Rekor integrated time or
//     RFC 3161 time proven by the signature, else the time the signed payload claims), and otherwise by
//     the order in which trustgate first saw them: a digest the tag pointed at before it moved on is older;
//   - re-signing an image gives it a new signing time, so a deliberate return to it is accepted;
//     `trustgate sigstore accept-tag` records an operator's deliberate re-tag.
// The store is shared (Redis) so every replica refuses the same rollbacks; decideAdvance is the one
// rule both implementations apply.

export interface TagRecord {
  readonly digest: string;
  /** Signing time (epoch ms) of the newest verified signature, when known. */
  readonly order?: number | undefined;
}

export interface TagState {
  readonly newest: TagRecord;
  /** Digests the tag pointed at before (most recent last, bounded). */
  readonly superseded: readonly string[];
}

export type Advance = { readonly accepted: true } | { readonly accepted: false; readonly newest: TagRecord };

export const SUPERSEDED_MAX = 64;

/** The rule: the new state when `candidate` may be served for the tag, or undefined when it is older. */
export function decideAdvance(state: TagState | undefined, candidate: TagRecord): TagState | undefined {
  if (state === undefined) return { newest: candidate, superseded: [] };
  const { newest } = state;
  if (candidate.digest === newest.digest) {
    const order = maxDefined(newest.order, candidate.order);
    return order === newest.order ? state : { ...state, newest: { digest: newest.digest, order } };
  }
  // equal times (payload timestamps have one-second resolution) do not order: first-seen order does
  const byTime = candidate.order !== undefined && newest.order !== undefined && candidate.order !== newest.order;
  const older = byTime ? (candidate.order as number) < (newest.order as number) : state.superseded.includes(candidate.digest);
  if (older) return undefined;
  const superseded = [...state.superseded.filter((d) => d !== candidate.digest && d !== newest.digest), newest.digest].slice(-SUPERSEDED_MAX);
  return { newest: candidate, superseded };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

export interface TagHistoryStore {
  /** Atomically apply decideAdvance for `<gun>:<tag>`. */
  advance(gun: string, tag: string, candidate: TagRecord): Promise<Advance>;
  get(gun: string, tag: string): Promise<TagState | undefined>;
  /** Operator: make `digest` the tag's newest (a deliberate re-tag), or forget the tag when undefined. */
  reset(gun: string, tag: string, digest?: string): Promise<void>;
}

export class MemoryTagHistory implements TagHistoryStore {
  private readonly tags = new Map<string, TagState>();

  constructor(private readonly maxTags = 100_000) {}

  async advance(gun: string, tag: string, candidate: TagRecord): Promise<Advance> {
    const key = `${gun}:${tag}`;
    const state = this.tags.get(key);
    const next = decideAdvance(state, candidate);
    if (next === undefined) return { accepted: false, newest: (state as TagState).newest };
    this.tags.delete(key);
    if (this.tags.size >= this.maxTags) this.tags.delete(this.tags.keys().next().value as string);
    this.tags.set(key, next);
    return { accepted: true };
  }

  async get(gun: string, tag: string): Promise<TagState | undefined> {
    return this.tags.get(`${gun}:${tag}`);
  }

  async reset(gun: string, tag: string, digest?: string): Promise<void> {
    const key = `${gun}:${tag}`;
    const state = this.tags.get(key);
    if (digest === undefined) this.tags.delete(key);
    else this.tags.set(key, resetState(state, digest));
  }
}

/** An operator's re-tag: `digest` becomes the newest (its previous newest and itself no longer refused). */
export function resetState(state: TagState | undefined, digest: string): TagState {
  const superseded = (state?.superseded ?? []).filter((d) => d !== digest);
  if (state !== undefined && state.newest.digest !== digest) superseded.push(state.newest.digest);
  // no order: the next signature compared by time alone could undo the operator's choice, so the
  // accepted digest has none, and from here on first-seen order applies until a newer signing time
  return { newest: { digest }, superseded: superseded.slice(-SUPERSEDED_MAX) };
}
