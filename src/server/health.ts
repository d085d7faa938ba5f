// Liveness and readiness, outside the registry API:
//   /healthz  the process is alive and serving HTTP
//   /readyz   Redis answers (when configured) and every upstream registry and Notary server answers
//             HTTP at all (any status below 500: a 401 challenge is an answering server)
// Readiness is cached briefly so a busy load balancer does not turn into upstream load.

import { request } from 'undici';
import type { Dispatcher } from 'undici';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, { ok: boolean; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** An HTTP endpoint that must answer with a status below 500. */
export function httpCheck(name: string, url: string, dispatcher: Dispatcher): ReadinessCheck {
  return {
    name,
    async check() {
      const res = await request(url, { method: 'GET', dispatcher, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      res.body.on('error', () => {}).resume();
      if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}`);
    },
  };
}

export class ReadinessProbe {
  private last?: { at: number; result: Readiness };
  private running?: Promise<Readiness>;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    private readonly cacheMs = 5_000,
  ) {}

  async evaluate(): Promise<Readiness> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.result;
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<Readiness> {
    const outcomes = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await Promise.race([c.check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref())]);
          return [c.name, { ok: true }] as const;
        } catch (err) {
          return [c.name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    const result = { ready: outcomes.every(([, o]) => o.ok), checks: Object.fromEntries(outcomes) };
    this.last = { at: Date.now(), result };
    return result;
  }
}
