// What an operator checks first when a pull is refused: for each policy rule, in order, what it does,
// its last decision and counts, and the repositories under it whose trust data this process holds,
// with their expiry and any offline grace. Served as JSON at /status (behind client authentication)
// and printed by `trustgate status`.

import type { PolicyRule } from '../config/config.js';
import type { Policy } from '../policy/policy.js';
import type { TrustExpiry } from '../pull/trust-source.js';

export interface LastDecision {
  readonly at: string;
  readonly repository: string;
  readonly reference: string;
  readonly decision: string;
  readonly reason?: string | undefined;
  readonly digest?: string | undefined;
}

export interface RuleStatus {
  readonly match: string;
  readonly action: string;
  readonly roles: readonly string[];
  readonly pinning: 'keys' | 'ca' | 'tofu' | 'none (tofu disabled)';
  readonly served: number;
  readonly refused: number;
  readonly last?: LastDecision | undefined;
  readonly repositories: readonly { gun: string; system: string; trustExpires: string; expiresInSeconds: number; underGrace: boolean }[];
}

interface Counters {
  served: number;
  refused: number;
  last?: Omit<LastDecision, 'at'>;
  /** Epoch ms of `last`, formatted when the status is read (an ISO date per pull costs µs on the warm path). */
  lastAt: number;
}

/** The decisions per rule (bounded by the configuration: one entry per rule, plus "no rule"). */
export class DecisionLog {
  private readonly byRule = new Map<string, Counters>();

  constructor(private readonly clock: () => number = Date.now) {}

  record(rule: string | undefined, d: Omit<LastDecision, 'at'>): void {
    const key = rule ?? NO_RULE;
    let c = this.byRule.get(key);
    if (!c) this.byRule.set(key, (c = { served: 0, refused: 0, lastAt: 0 }));
    if (d.decision === 'refused') c.refused++;
    else c.served++;
    c.last = d;
    c.lastAt = this.clock();
  }

  status(rules: readonly PolicyRule[], policy: Policy, tofu: boolean, expiries: Iterable<TrustExpiry>): RuleStatus[] {
    const now = this.clock();
    const repos = new Map<string, RuleStatus['repositories'][number][]>();
    for (const e of expiries) {
      const rule = policy.decide(e.gun).rule ?? NO_RULE;
      const list = repos.get(rule) ?? [];
      list.push({ gun: e.gun, system: e.system, trustExpires: new Date(e.expires).toISOString(), expiresInSeconds: Math.round((e.expires - now) / 1000), underGrace: e.stale });
      repos.set(rule, list);
    }
    const described = rules.map((r) => ({ match: r.match, action: r.action, roles: r.roles, pinning: pinningOf(r, tofu) }));
    if (this.byRule.has(NO_RULE)) described.push({ match: NO_RULE, action: 'deny', roles: [], pinning: 'none (tofu disabled)' });
    return described.map((r) => {
      const c = this.byRule.get(r.match);
      const last = c?.last && { at: new Date(c.lastAt).toISOString(), ...c.last };
      return { ...r, served: c?.served ?? 0, refused: c?.refused ?? 0, last, repositories: (repos.get(r.match) ?? []).sort((a, b) => a.expiresInSeconds - b.expiresInSeconds) };
    });
  }
}

/** Requests that no rule matched (denied: fail closed). */
const NO_RULE = '(no rule matched)';

function pinningOf(r: PolicyRule, tofu: boolean): RuleStatus['pinning'] {
  if (r.pinKeys.length > 0) return 'keys';
  if (r.pinCaPem) return 'ca';
  return tofu ? 'tofu' : 'none (tofu disabled)';
}
