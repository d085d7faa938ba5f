// `trustgate warm <repository[:tag]…> [--config FILE]`: fetch and verify trust data (and, for tags,
// the signed manifests) into the configured store before the first pulls, so they start warm.
// Useful with Redis (every replica sees the result); the in-process cache of a running server is
// another process's memory and cannot be warmed from outside. On a terminal, a progress line.

import { openStores } from '../cache/stores.js';
import { loadConfig } from '../config/config.js';
import { TrustgateError } from '../errors.js';
import { admit } from '../pull/targets.js';
import { checkReference } from '../registry/reference.js';
import { buildServices, type Services } from '../server/services.js';
import type { Output } from './check.js';
import { progressOn, type ProgressStream } from './progress.js';

export async function runWarm(refs: readonly string[], opts: { config?: string }, io: Output, progressStream?: ProgressStream): Promise<number> {
  const config = await loadConfig(opts.config);
  for (const notice of config.notices ?? []) io.err(`note: ${notice}`);
  if (!config.redis) io.err('note: no redis configured: warming an in-process cache helps only this process; configure redis to warm every replica');
  const stores = await openStores(config);
  const services = buildServices(config, { stores });
  const progress = progressOn(progressStream, 'repositories', refs.length);
  let failures = 0;
  try {
    for (const [i, ref] of refs.entries()) {
      progress.update({ done: i, current: ref });
      try {
        const line = await warmOne(services, ref);
        progress.line(() => io.out(line));
      } catch (err) {
        if (!(err instanceof TrustgateError)) throw err;
        failures++;
        progress.line(() => io.err(`${ref}: ${err.message} [${err.code}]`));
      }
      progress.update({ done: i + 1 });
    }
  } finally {
    progress.finish();
    await services.close();
    await stores.close();
  }
  return failures === 0 ? 0 : 1;
}

/** The same use cases a pull runs, so the warm state is exactly what a pull would build. */
async function warmOne(s: Services, ref: string): Promise<string> {
  const withTag = ref.includes(':') && !ref.slice(ref.lastIndexOf(':')).includes('/');
  const [repository, tag] = withTag ? [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)] : [ref, undefined];
  const target = s.targets.select(repository, new URLSearchParams(), undefined);
  admit(target);
  if (tag === undefined) {
    await s.tags.list(target, '');
    return `${ref}: warm`;
  }
  checkReference('manifests', tag);
  const m = await s.manifests.get(target, tag);
  return `${ref}: warm (${m.digest})`;
}
