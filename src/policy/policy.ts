// Which repositories are verified, by which roles, pinned how: a pure decision over
// `<upstream name>/<repository>`. Rules are tried in order; the first match wins; no match is a
// refusal (fail closed).

import type { PolicyAction, PolicyRule } from '../config/config.js';
import type { SigstorePolicy, TrustMode } from '../config/sigstore.js';
import { decodePemCertificates, parseCertificate, type CertInfo, type TrustPinning } from '../trust/index.js';

export interface Decision {
  readonly action: PolicyAction;
  /** Roles that may sign a tag (a subset of Docker's targets/releases, targets). */
  readonly roles: readonly string[];
  /** The trust pinning for this repository's GUN. */
  readonly pinning: TrustPinning;
  /** The rule that matched, for logs; undefined when none did. */
  readonly rule: string | undefined;
  /** Which signatures verify: Notary (also when undefined), Sigstore, either, or both for the same digest. */
  readonly trust?: TrustMode | undefined;
  /** Keys, identities, trusted root, tlog and identity rules when `trust` involves Sigstore. */
  readonly sigstore?: SigstorePolicy | undefined;
}

interface CompiledRule {
  readonly rule: PolicyRule;
  readonly pattern: RegExp;
  readonly caCerts: CertInfo[];
}

/** `*` matches any run of characters (including `/`), `?` one character; the rest is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export class Policy {
  private readonly rules: CompiledRule[];

  constructor(
    rules: readonly PolicyRule[],
    private readonly tofu: boolean,
  ) {
    this.rules = rules.map((rule) => ({
      rule,
      pattern: globToRegExp(rule.match),
      caCerts: rule.pinCaPem ? decodePemCertificates(Buffer.from(rule.pinCaPem)).map((der) => parseCertificate(der, 'trust pinning')) : [],
    }));
  }

  private readonly memo = new Map<string, Decision>();

  /** Decide for `gun` (= `<upstream name>/<repository>`); decisions are pure, so they are memoised. */
  decide(gun: string): Decision {
    let d = this.memo.get(gun);
    if (d === undefined) {
      if (this.memo.size >= 10_000) this.memo.delete(this.memo.keys().next().value as string);
      this.memo.set(gun, (d = this.evaluate(gun)));
    }
    return d;
  }

  private evaluate(gun: string): Decision {
    for (const compiled of this.rules) {
      if (!compiled.pattern.test(gun)) continue;
      const { rule } = compiled;
      return { action: rule.action, roles: rule.roles, pinning: this.pinningFor(gun, compiled), rule: rule.match, trust: rule.trust, sigstore: rule.sigstore };
    }
    return { action: 'deny', roles: [], pinning: { keys: new Map(), ca: new Map(), disableTOFU: true }, rule: undefined, trust: 'notary' };
  }

  private pinningFor(gun: string, { rule, caCerts }: CompiledRule): TrustPinning {
    const keys = new Map<string, readonly string[]>();
    const ca = new Map<string, readonly CertInfo[]>();
    if (rule.pinKeys.length > 0) keys.set(gun, rule.pinKeys);
    if (caCerts.length > 0) ca.set(gun, caCerts);
    return { keys, ca, disableTOFU: !this.tofu };
  }
}
