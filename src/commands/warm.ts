// `trustgate warm <repository[:tag]…> [--config FILE]`: fetch and verify trust data (and, for tags,
// the signed manifests) into the configured store before the first pulls, so they start warm.
// Useful with Redis (every replica sees the result); the in-process cache of a running server is
// another process's memory and cannot be warmed from outside. On a terminal, a progress line.

import { storesFor } from './serve.js';
import { loadConfig } from '../config/config.js';
import { TrustgateError } from '../errors.js';
import { buildApp, type TrustgateApp } from '../server/app.js';
import type { Output } from './check.js';
import { progressOn, type ProgressStream } from './progress.js';

export async function runWarm(refs: readonly string[], opts: { config?: string }, io: Output, progressStream?: ProgressStream): Promise<number> {
  const config = await loadConfig(opts.config);
  for (const notice of config.notices ?? []) io.err(`note: ${notice}`);
  if (!config.redis) io.err('note: no redis configured: warming an in-process cache helps only this process; configure redis to warm every replica');
  const stores = await storesFor(config);
  const tg = await buildApp({ config, trustStore: stores.trustStore, results: stores.results, logger: false });
  const progress = progressOn(progressStream, 'repositories', refs.length);
  let failures = 0;
  try {
    for (const [i, ref] of refs.entries()) {
      progress.update({ done: i, current: ref });
      const r = await warmOne(tg, ref);
      progress.line(() => (r.failed ? io.err(`${ref}: ${r.text}`) : io.out(`${ref}: ${r.text}`)));
      if (r.failed) failures++;
      progress.update({ done: i + 1 });
    }
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    progress.line(() => io.err(`error: ${err.message} [${err.code}]`));
    failures++;
  } finally {
    progress.finish();
    await tg.close();
    await stores.close();
  }
  return failures === 0 ? 0 : 1;
}

/** Warm one reference through the registry API, so the warm state is exactly what a pull builds. */
async function warmOne(tg: TrustgateApp, ref: string): Promise<{ failed: boolean; text: string }> {
  const withTag = ref.includes(':') && !ref.slice(ref.lastIndexOf(':')).includes('/');
  const [repository, tag] = withTag ? [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)] : [ref, undefined];
  const url = tag ? `/v2/${repository}/manifests/${tag}` : `/v2/${repository}/tags/list`;
  const res = await tg.app.inject({ method: tag ? 'HEAD' : 'GET', url });
  if (res.statusCode === 200) return { failed: false, text: `warm${tag ? ` (${res.headers['docker-content-digest']})` : ''}` };
  const body = tag ? (await tg.app.inject({ method: 'GET', url })).json() : res.json();
  const e = (body as { errors?: { message?: string; detail?: { reason?: string } }[] }).errors?.[0];
  return { failed: true, text: `${e?.message ?? `HTTP ${res.statusCode}`} [${e?.detail?.reason ?? res.statusCode}]` };
}
