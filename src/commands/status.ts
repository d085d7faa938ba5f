// `trustgate status [--config FILE] [--url URL] [--json]`: what a running trustgate last decided per
// policy rule, and how long the trust data of each repository it holds has left — the first thing to
// look at when a pull is refused. It reads the server's /status (behind client authentication:
// TRUSTGATE_STATUS_TOKEN, or TRUSTGATE_STATUS_USER and TRUSTGATE_STATUS_PASSWORD).

import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { loadConfig } from '../config/config.js';
import { ConfigError, TrustgateError } from '../errors.js';
import type { RuleStatus } from '../server/status.js';
import type { Output } from './check.js';

export interface StatusOptions {
  readonly config?: string;
  readonly url?: string;
  readonly ca?: string;
  readonly json?: boolean;
}

/** The running server's /status URL: --url, else the configuration's listen address. */
async function statusUrl(opts: StatusOptions): Promise<string> {
  if (opts.url) return new URL('/status', opts.url).toString();
  const config = await loadConfig(opts.config);
  const host = ['0.0.0.0', '::', ''].includes(config.listen.host) ? '127.0.0.1' : config.listen.host;
  const h = host.includes(':') ? `[${host}]` : host;
  return `${config.tls ? 'https' : 'http'}://${h}:${config.listen.port}/status`;
}

function authorization(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.TRUSTGATE_STATUS_TOKEN) return { authorization: `Bearer ${env.TRUSTGATE_STATUS_TOKEN}` };
  if (env.TRUSTGATE_STATUS_USER) {
    return { authorization: `Basic ${Buffer.from(`${env.TRUSTGATE_STATUS_USER}:${env.TRUSTGATE_STATUS_PASSWORD ?? ''}`).toString('base64')}` };
  }
  return {};
}

export async function runStatus(opts: StatusOptions, io: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let url = opts.url ?? '';
  try {
    url = await statusUrl(opts);
    const ca = opts.ca ? await readFile(opts.ca, 'utf8') : undefined;
    const dispatcher = new Agent({ connect: { timeout: 3_000, ...(ca ? { ca: [...rootCertificates, ca] } : {}) } });
    try {
      const res = await request(url, { headers: authorization(env), dispatcher, signal: AbortSignal.timeout(5_000) });
      const text = await res.body.text();
      if (res.statusCode === 401) throw new ConfigError(`${url} asks for credentials: set TRUSTGATE_STATUS_TOKEN, or TRUSTGATE_STATUS_USER and TRUSTGATE_STATUS_PASSWORD`);
      if (res.statusCode !== 200) throw new ConfigError(`${url} answered HTTP ${res.statusCode}`);
      const doc = JSON.parse(text) as { rules: RuleStatus[] };
      if (opts.json) io.out(JSON.stringify(doc, null, 2));
      else for (const line of describe(doc.rules)) io.out(line);
      return 0;
    } finally {
      await dispatcher.close();
    }
  } catch (err) {
    if (err instanceof TrustgateError) io.err(`error: ${err.message} [${err.code}]`);
    else io.err(`error: nothing answers at ${url || 'the configured address'} (${(err as Error).message}): is trustgate running? (--url)`);
    return 2;
  }
}

/** One block per rule: what it does, what it last decided, the repositories it holds. */
export function describe(rules: readonly RuleStatus[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    out.push(`${r.match}  ${r.action}${r.action === 'verify' ? ` (roles ${r.roles.join(', ')}; pinning ${r.pinning})` : ''}  served ${r.served}, refused ${r.refused}`);
    const l = r.last;
    if (l) out.push(`  last: ${l.at} ${l.decision} ${l.repository}:${l.reference}${l.reason ? ` [${l.reason}]` : ''}${l.digest ? ` ${l.digest}` : ''}`);
    for (const repo of r.repositories) {
      const left = repo.expiresInSeconds <= 0 ? 'EXPIRED' : `${formatSeconds(repo.expiresInSeconds)} left`;
      out.push(`  ${repo.gun}  ${repo.system} trust data until ${repo.trustExpires} (${left}${repo.underGrace ? ', under the offline grace' : ''})`);
    }
  }
  return out;
}

function formatSeconds(s: number): string {
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}
