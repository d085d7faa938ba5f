// The audit line: one JSON log line per manifest decision (served, served under the offline grace,
// allowed unverified, refused), and the decision counters, written here and nowhere else.

import type { FastifyBaseLogger } from 'fastify';
import { TrustgateError } from '../errors.js';
import type { ServedManifest } from '../pull/manifests.js';
import type { PullTarget } from '../pull/target.js';
import type { HotSeries, Metrics } from './metrics.js';
import type { DecisionLog, LastDecision } from './status.js';

export interface AuditRequest {
  readonly method: string;
  readonly client: string;
}

/** What a served decision writes that does not change between pulls of the same verified answer. */
interface ServedRecord {
  /** A pino child with the decision's fields serialised once. */
  readonly line: FastifyBaseLogger;
  readonly decisions: HotSeries<string>;
  readonly lookups: HotSeries<string>;
  readonly last: Omit<LastDecision, 'at'>;
}

export class Audit {
  // per verified answer (a warm pull reuses one object), so the audit of a warm pull is a log call
  // with three fields and a few increments
  private readonly records = new WeakMap<ServedManifest, ServedRecord>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    private readonly decisions: DecisionLog,
  ) {}

  served(req: AuditRequest, target: PullTarget, reference: string, m: ServedManifest): void {
    let r = this.records.get(m);
    if (r === undefined) {
      r = this.record(target, reference, m);
      this.records.set(m, r);
    }
    if (m.stale) {
      // expired timestamp/snapshot accepted under the offline grace: a warning on every pull
      r.line.warn({ method: req.method, client: req.client, cache: m.cache }, 'manifest served under the offline grace: trust data expired, import a fresh bundle');
    } else {
      r.line.info({ method: req.method, client: req.client, cache: m.cache }, 'manifest served');
    }
    r.decisions.inc();
    r.lookups.inc();
    this.decisions.record(target.decision.rule, r.last);
  }

  private record(target: PullTarget, reference: string, m: ServedManifest): ServedRecord {
    const decision = target.decision.action === 'allow' ? 'allowed-unverified' : m.stale ? 'served-under-grace' : 'served';
    const system = m.system ?? systemOf(target);
    return {
      line: this.log.child({ ...decisionFields(target, reference), decision, digest: m.digest, role: m.role, system }),
      decisions: this.metrics.series(this.metrics.decisions, { decision, reason: '', upstream: target.upstream.name, system }),
      lookups: this.metrics.series(this.metrics.cacheLookups, { cache: 'manifest', result: m.cache }),
      last: { repository: target.gun, reference, decision, digest: m.digest },
    };
  }

  refused(req: AuditRequest, target: PullTarget, reference: string, err: unknown): void {
    const reason = err instanceof TrustgateError ? err.code : 'INTERNAL';
    const detail = err instanceof Error ? err.message : String(err);
    const system = systemOf(target);
    this.metrics.decisions.inc({ decision: 'refused', reason, upstream: target.upstream.name, system });
    this.decisions.record(target.decision.rule, { repository: target.gun, reference, decision: 'refused', reason });
    this.log.warn({ ...decisionFields(target, reference), system, method: req.method, client: req.client, decision: 'refused', reason, detail }, 'manifest refused');
  }
}

/** The system a decision was asked of: the policy's trust mode (`any`, `all` when both were), '' when unverified. */
function systemOf(target: PullTarget): string {
  return target.decision.action === 'verify' ? (target.decision.trust ?? 'notary') : '';
}

function decisionFields(target: PullTarget, reference: string) {
  return { audit: 'manifest', upstream: target.upstream.name, repository: target.repository, reference, policy: target.decision.rule };
}
