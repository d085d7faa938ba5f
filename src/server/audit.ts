// The audit line: one JSON log line per manifest decision (served, served under the offline grace,
// allowed unverified, refused), and the decision counters, written here and nowhere else.

import type { FastifyBaseLogger } from 'fastify';
import { TrustgateError } from '../errors.js';
import type { ServedManifest } from '../pull/manifests.js';
import type { PullTarget } from '../pull/target.js';
import type { Metrics } from './metrics.js';
import type { DecisionLog } from './status.js';

export interface AuditRequest {
  readonly method: string;
  readonly client: string;
}

export class Audit {
  // the fields of a served decision that do not change between pulls are serialised once (a pino
  // child per verified answer), so the line per warm pull costs little
  private readonly children = new WeakMap<ServedManifest, FastifyBaseLogger>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    private readonly decisions: DecisionLog,
  ) {}

  served(req: AuditRequest, target: PullTarget, reference: string, m: ServedManifest): void {
    const decision = target.decision.action === 'allow' ? 'allowed-unverified' : m.stale ? 'served-under-grace' : 'served';
    let line = this.children.get(m);
    if (line === undefined) {
      line = this.log.child({ ...decisionFields(target, reference), decision, digest: m.digest, role: m.role, system: m.system ?? systemOf(target) });
      this.children.set(m, line);
    }
    if (m.stale) {
      // expired timestamp/snapshot accepted under the offline grace: a warning on every pull
      line.warn({ method: req.method, client: req.client, cache: m.cache }, 'manifest served under the offline grace: trust data expired, import a fresh bundle');
    } else {
      line.info({ method: req.method, client: req.client, cache: m.cache }, 'manifest served');
    }
    this.metrics.decisions.inc({ decision, reason: '', upstream: target.upstream.name, system: m.system ?? systemOf(target) });
    this.metrics.cacheLookups.inc({ cache: 'manifest', result: m.cache });
    this.decisions.record(target.decision.rule, { repository: target.gun, reference, decision, digest: m.digest });
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
